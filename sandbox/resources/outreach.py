"""Outreach: sequences, one-off email/SMS sends (queued, never delivered) and the suppression list."""

from __future__ import annotations

import re
from typing import Any

from ..base.errors import Conflict
from .lookups import find, matching, project
from .pagination import list_page
from .request import ApiRequest, Reply

sequence_view = project(("id", "name", "channel", "steps", "active", "stats", "created_at"))
suppression_view = project(("id", "channel", "address", "reason", "source", "added_at"))
DEFAULT_SUPPRESSION_REASON = "manual_owner_request"


def normalize_address(channel: str, address: str) -> str:
    """Email addresses compare case-insensitively; phone numbers as E.164 (US default)."""
    address = address.strip()
    if channel == "email":
        return address.lower()
    digits = re.sub(r"\D", "", address)
    if not address.startswith("+") and len(digits) == 10:
        digits = "1" + digits
    return f"+{digits}"


def list_sequences(request: ApiRequest) -> dict[str, Any]:
    """The organization's email and SMS sequences with their funnel stats."""
    return list_page(request, "sequence", where=matching(request, ("channel", "active")), view=sequence_view)


def list_suppressions(request: ApiRequest) -> dict[str, Any]:
    """Blocked addresses and numbers, each with its source and reason."""
    return list_page(request, "suppression", where=matching(request, ("channel",)), view=suppression_view)


def suppression_for(request: ApiRequest, channel: str, address: str) -> dict[str, Any] | None:
    """The organization's suppression entry for this channel and (normalised) address, if any."""
    wanted = normalize_address(channel, address)
    for entry in request.sandbox.store.scan("suppression", request.org_id):
        if entry["channel"] == channel and normalize_address(channel, entry["address"]) == wanted:
            return entry
    return None


def create_suppression(request: ApiRequest) -> Reply:
    """Block all outbound to an address or number; a second entry for it is a 409."""
    sandbox, body, now = request.sandbox, request.body, request.now_iso()
    channel = body["channel"]
    with sandbox.store.transaction():
        existing = suppression_for(request, channel, body["address"])
        if existing is not None:
            raise Conflict(
                f"{existing['address']} is already suppressed for {channel} as {existing['id']}",
                details={"existing_id": existing["id"], **suppression_view(existing)},
            )
        entry = {
            "id": sandbox.ids.prefixed("sup"),
            "organization_id": request.org_id,
            "channel": channel,
            "address": normalize_address(channel, body["address"]),
            "reason": body.get("reason") or DEFAULT_SUPPRESSION_REASON,
            "source": "api",
            "added_at": now,
            "created_at": now,
        }
        sandbox.store.insert("suppression", entry)
        request.audit(
            "suppression.added",
            {"suppression_id": entry["id"], "channel": channel, "address": entry["address"], "reason": entry["reason"]},
        )
    return Reply(suppression_view(entry), 201)


def send_outreach(request: ApiRequest) -> Reply:
    """Queue one email or SMS unless the recipient is suppressed; nothing is really sent."""
    sandbox, body, now = request.sandbox, request.body, request.now_iso()
    channel = body["channel"]
    with sandbox.store.transaction():
        blocked = suppression_for(request, channel, body["to"])
        if blocked is not None:
            raise Conflict(
                f"{body['to']} is on this organization's {channel} suppression list ({blocked['id']}, "
                f"reason {blocked['reason']}); remove it there before sending",
                code="suppressed_recipient",
                details={"suppression": suppression_view(blocked)},
            )
        if body.get("lead_id"):
            find(request, "lead", body["lead_id"])
        message = {
            "id": sandbox.ids.prefixed("msg"),
            "organization_id": request.org_id,
            "channel": channel,
            "to": normalize_address(channel, body["to"]),
            "subject": body.get("subject"),
            "body": body["body"],
            "lead_id": body.get("lead_id"),
            "status": "queued",
            "queued_at": now,
            "created_at": now,
        }
        sandbox.store.insert("message", message)
        request.audit(
            "outreach.sent",
            {"message_id": message["id"], "channel": channel, "to": message["to"], "lead_id": message["lead_id"]},
        )
        if channel == "email":
            sandbox.webhooks.emit(request.org_id, "outreach.email.sent", _message_event(message))
    return Reply({"message_id": message["id"], "status": "queued", "channel": channel, "queued_at": now}, 202)


def _message_event(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": message["id"],
        **{name: message[name] for name in ("channel", "to", "subject", "body", "lead_id", "status", "queued_at")},
    }
