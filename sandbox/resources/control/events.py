"""Emitted webhook events and their replay (tag ``sandbox-events``)."""

from __future__ import annotations

from typing import Any

from ...base.errors import NotFound
from ..pagination import list_page
from ..request import ApiRequest, Reply


def list_events(request: ApiRequest) -> dict[str, Any]:
    """The organization's emitted webhook events, newest first."""
    return list_page(
        request,
        "event",
        view=lambda event: {k: event[k] for k in ("id", "type", "created_at", "organization_id", "data")},
    )


def replay_event(request: ApiRequest) -> Reply:
    """Deliver a past event again (same event id, fresh timestamp and signature)."""
    webhook_id = (request.body or {}).get("webhook_id")
    deliveries = request.sandbox.webhooks.replay_event(request.org_id, request.path["event_id"], webhook_id)
    if deliveries is None:
        raise NotFound(f"No event with id '{request.path['event_id']}' in this organization")
    return Reply({"event_id": request.path["event_id"], "deliveries_scheduled": deliveries}, 202)


def replay_delivery(request: ApiRequest) -> Reply:
    """Deliver a past delivery's event again to its subscription."""
    deliveries = request.sandbox.webhooks.replay_delivery(request.org_id, request.path["delivery_id"])
    if deliveries is None:
        raise NotFound(f"No delivery with id '{request.path['delivery_id']}' in this organization")
    return Reply({"delivery_id": request.path["delivery_id"], "deliveries_scheduled": deliveries}, 202)


def list_delivery_attempts(request: ApiRequest) -> dict[str, Any]:
    """The sandbox's latest delivery attempts (every organization's), newest first, with what was sent."""
    event_id = request.query.get("event_id")
    return {"data": request.sandbox.feed.attempts(event_id, int(request.query.get("limit", 50)))}


def enable_webhook(request: ApiRequest) -> dict[str, Any]:
    """Turn a subscription back on (a 410 from its receiver disabled it)."""
    record = request.sandbox.webhooks.subscriptions.get(request.org_id, request.path["webhook_id"])
    if record is None:
        raise NotFound(
            f"No webhook with id '{request.path['webhook_id']}' in this organization",
            details={"id": request.path["webhook_id"]},
        )
    if not record["enabled"]:
        record = request.sandbox.webhooks.subscriptions.update(request.org_id, record["id"], {"enabled": True})
        request.audit("webhook.enabled", {"webhook_id": request.path["webhook_id"]})
    assert record is not None
    return request.sandbox.webhooks.public_view(record)
