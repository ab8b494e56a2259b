"""Emitted webhook events and their replay (tag ``sandbox-events``)."""

from __future__ import annotations

from typing import Any

from ...call import Call, Reply
from ...errors import NotFound
from ...pagination import list_page


def list_events(call: Call) -> dict[str, Any]:
    """The organization's emitted webhook events, newest first."""
    return list_page(call, "event", view=lambda event: {k: event[k] for k in
                                                         ("id", "type", "created_at", "organization_id", "data")})


def replay_event(call: Call) -> Reply:
    """Deliver a past event again (same event id, fresh timestamp and signature)."""
    webhook_id = (call.body or {}).get("webhook_id")
    deliveries = call.sandbox.webhooks.replay_event(call.org_id, call.path["event_id"], webhook_id)
    if deliveries is None:
        raise NotFound(f"No event with id '{call.path['event_id']}' in this organization")
    return Reply({"event_id": call.path["event_id"], "deliveries_scheduled": deliveries}, 202)


def replay_delivery(call: Call) -> Reply:
    """Deliver a past delivery's event again to its subscription."""
    deliveries = call.sandbox.webhooks.replay_delivery(call.org_id, call.path["delivery_id"])
    if deliveries is None:
        raise NotFound(f"No delivery with id '{call.path['delivery_id']}' in this organization")
    return Reply({"delivery_id": call.path["delivery_id"], "deliveries_scheduled": deliveries}, 202)
