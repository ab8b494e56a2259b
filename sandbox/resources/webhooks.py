"""Webhook subscriptions: list, read, create, delete, rotate the secret, deliveries log."""

from __future__ import annotations

from typing import Any

from ..base.errors import NotFound, ValidationFailed, field_error
from ..services.webhooks import EndpointRefused
from .lookups import find
from .pagination import list_page
from .request import ApiRequest, Reply

SAVE_WARNING = "Save this signing_secret now. It will not be shown again."
DELIVERY_FIELDS = (
    "id",
    "event",
    "event_id",
    "status",
    "response_status",
    "latency_ms",
    "attempt",
    "delivered_at",
    "error",
    "next_attempt_at",
)


def _view(request: ApiRequest, record: dict[str, Any]) -> dict[str, Any]:
    return request.sandbox.webhooks.public_view(record)


def list_webhooks(request: ApiRequest) -> dict[str, Any]:
    """The organization's webhook endpoints (secrets never, only their prefix)."""
    return list_page(request, "webhook", view=lambda record: _view(request, record))


def get_webhook(request: ApiRequest) -> dict[str, Any]:
    """One subscription's metadata."""
    return _view(request, find(request, "webhook", request.path["id"], "webhook"))


def create_webhook(request: ApiRequest) -> Reply:
    """Subscribe an endpoint; the signing secret is in this answer and never again."""
    body, sandbox = request.body, request.sandbox
    sandbox.quotas.check_count(
        "webhooks",
        sandbox.store.count("webhook"),
        sandbox.settings.QUOTA_WEBHOOKS,
        "this sandbox has that many webhook subscriptions; delete one first",
    )
    try:
        record, secret = sandbox.webhooks.create_subscription(
            request.org_id, body["url"], list(body["events"]), body.get("description")
        )
    except EndpointRefused as refused:
        raise ValidationFailed([field_error("body.url", str(refused), "endpoint")]) from refused
    request.audit("webhook.created", {"webhook_id": record["id"], "url": record["url"], "events": record["events"]})
    return Reply({**_view(request, record), "signing_secret": secret, "_warning": SAVE_WARNING}, 201)


def delete_webhook(request: ApiRequest) -> dict[str, Any]:
    """Remove a subscription; deliveries stop at once, queued retries included."""
    record = find(request, "webhook", request.path["id"], "webhook")
    request.sandbox.webhooks.delete_subscription(request.org_id, record["id"])
    request.audit("webhook.deleted", {"webhook_id": record["id"]})
    return {"id": record["id"], "deleted": True}


def rotate_webhook_secret(request: ApiRequest) -> dict[str, Any]:
    """Issue a new secret; the previous one keeps verifying for 24 hours."""
    webhook_id = find(request, "webhook", request.path["id"], "webhook")["id"]
    try:
        record, secret = request.sandbox.webhooks.rotate_secret(request.org_id, webhook_id)
    except KeyError:  # deleted (or its sandbox reset) by a request of another process since the look-up
        raise NotFound(f"No webhook with id '{webhook_id}' in this organization", details={"id": webhook_id}) from None
    request.audit("webhook.secret_rotated", {"webhook_id": record["id"]})
    return {
        "id": record["id"],
        "url": record["url"],
        "signing_secret_prefix": record["signing_secret_prefix"],
        "signing_secret": secret,
        "_warning": f"{SAVE_WARNING} The previous secret remains valid for 24 hours.",
    }


def list_webhook_deliveries(request: ApiRequest) -> dict[str, Any]:
    """The last 100 delivery attempts to this endpoint, newest first."""
    record = find(request, "webhook", request.path["id"], "webhook")
    attempts = request.sandbox.webhooks.deliveries(request.org_id, record["id"], limit=100)
    limit = request.query.get("limit", 100)
    return {
        "data": [{name: attempt.get(name) for name in DELIVERY_FIELDS} for attempt in attempts[:limit]],
        "next_cursor": None,
    }
