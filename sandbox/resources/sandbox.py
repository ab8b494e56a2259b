"""Sandbox-only control endpoints (outside /api/v1): keys, reset, clock, replay, signed files."""

from __future__ import annotations

from typing import Any

from ..call import Call, Reply
from ..clock import isoformat
from ..durations import parse_duration
from ..errors import NotFound
from ..pagination import list_page
from .. import signed_urls


def list_sandbox_keys(call: Call) -> dict[str, Any]:
    """Every seeded key with its organization and scopes (the sandbox has no secrets)."""
    names = {org["id"]: org["name"] for org in call.sandbox.store.scan("organization")}
    return {"data": [
        {"token": key["token"], "key_id": key["id"], "organization_id": key["organization_id"],
         "organization_name": names.get(key["organization_id"]), "scopes": list(key["scopes"]),
         "label": key.get("label")}
        for key in call.sandbox.keys
    ]}


def reset_sandbox(call: Call) -> dict[str, Any]:
    """Put the caller's organization, or the whole world, back to the seed."""
    scope = (call.body or {}).get("scope", "organization")
    call.sandbox.reset(None if scope == "world" else call.org_id)
    return {"reset": scope, "organization_id": None if scope == "world" else call.org_id,
            "seed": call.sandbox.settings.SEED}


def _clock_state(call: Call, fired: int | None = None) -> dict[str, Any]:
    clock = call.sandbox.clock
    state = {"now": isoformat(clock.now()), "virtual": clock.is_virtual, "pending_tasks": clock.pending()}
    if fired is not None:
        state["fired"] = fired
    return state


def get_clock(call: Call) -> dict[str, Any]:
    """The sandbox clock's current instant."""
    return _clock_state(call)


def advance_clock(call: Call) -> dict[str, Any]:
    """Move the clock forward, firing everything due on the way, in order."""
    fired = call.sandbox.clock.advance(parse_duration(call.body["by"]))
    return _clock_state(call, fired=len(fired))


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


def get_recording(call: Call) -> Reply:
    """A call recording behind a signed, expiring URL."""
    audio, mimetype = signed_urls.serve_recording(call.sandbox, call.path["call_id"],
                                                  call.query.get("exp"), call.query.get("sig"))
    return Reply(audio, 200, mimetype=mimetype)


def get_claim_summary_txt(call: Call) -> Reply:
    """A claim's plain-text summary behind a signed URL."""
    return _claim_summary(call, "txt")


def get_claim_summary_pdf(call: Call) -> Reply:
    """A claim's PDF summary behind a signed URL."""
    return _claim_summary(call, "pdf")


def _claim_summary(call: Call, fmt: str) -> Reply:
    content, mimetype = signed_urls.serve_claim_summary(call.sandbox, call.path["claim_id"], fmt,
                                                        call.query.get("exp"), call.query.get("sig"))
    return Reply(content, 200, mimetype=mimetype)
