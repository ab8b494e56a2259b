"""Webhook subscriptions: list, read, create, delete, rotate the secret, deliveries log."""

from __future__ import annotations

from typing import Any

from ..call import Call, Reply
from ..errors import ValidationFailed, field_error
from ..pagination import list_page
from ..webhooks import EndpointRefused
from ._shared import find

SAVE_WARNING = "Save this signing_secret now. It will not be shown again."
DELIVERY_FIELDS = ("id", "event", "event_id", "status", "response_status", "latency_ms", "attempt",
                   "delivered_at")


def _view(call: Call, record: dict[str, Any]) -> dict[str, Any]:
    return call.sandbox.webhooks.public_view(record)


def list_webhooks(call: Call) -> dict[str, Any]:
    """The organization's webhook endpoints (secrets never, only their prefix)."""
    return list_page(call, "webhook", view=lambda record: _view(call, record))


def get_webhook(call: Call) -> dict[str, Any]:
    """One subscription's metadata."""
    return _view(call, find(call, "webhook", call.path["id"], "webhook"))


def create_webhook(call: Call) -> Reply:
    """Subscribe an endpoint; the signing secret is in this answer and never again."""
    body, sandbox = call.body, call.sandbox
    try:
        record, secret = sandbox.webhooks.create_subscription(
            call.org_id, body["url"], list(body["events"]), body.get("description"))
    except EndpointRefused as refused:
        raise ValidationFailed([field_error("body.url", str(refused), "endpoint")]) from refused
    sandbox.audit.from_call(call, "webhook.created", {"webhook_id": record["id"], "url": record["url"],
                                                      "events": record["events"]})
    return Reply({**_view(call, record), "signing_secret": secret, "_warning": SAVE_WARNING}, 201)


def delete_webhook(call: Call) -> dict[str, Any]:
    """Remove a subscription; deliveries stop at once, queued retries included."""
    record = find(call, "webhook", call.path["id"], "webhook")
    call.sandbox.webhooks.delete_subscription(call.org_id, record["id"])
    call.sandbox.audit.from_call(call, "webhook.deleted", {"webhook_id": record["id"]})
    return {"id": record["id"], "deleted": True}


def rotate_webhook_secret(call: Call) -> dict[str, Any]:
    """Issue a new secret; the previous one keeps verifying for 24 hours."""
    find(call, "webhook", call.path["id"], "webhook")
    record, secret = call.sandbox.webhooks.rotate_secret(call.org_id, call.path["id"])
    call.sandbox.audit.from_call(call, "webhook.secret_rotated", {"webhook_id": record["id"]})
    return {"id": record["id"], "url": record["url"], "signing_secret_prefix": record["signing_secret_prefix"],
            "signing_secret": secret,
            "_warning": f"{SAVE_WARNING} The previous secret remains valid for 24 hours."}


def list_webhook_deliveries(call: Call) -> dict[str, Any]:
    """The last 100 delivery attempts to this endpoint, newest first."""
    record = find(call, "webhook", call.path["id"], "webhook")
    attempts = call.sandbox.webhooks.deliveries(call.org_id, record["id"], limit=100)
    limit = call.query.get("limit", 100)
    return {"data": [{name: attempt.get(name) for name in DELIVERY_FIELDS} for attempt in attempts[:limit]],
            "next_cursor": None}
