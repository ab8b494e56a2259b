"""Delivery attempts as the inspector shows them (``GET /_sandbox/webhooks/deliveries``, the streams'
``delivery`` messages): what was sent — headers, body, the exact string that was signed — and, once
the attempt ended, its outcome. The feed logs each attempt twice: as it is sent, then finished."""

from __future__ import annotations

from typing import Any

from ...base.store import Record
from .delivery import Attempt, attempt_headers

ATTEMPT_FIELDS = (
    "id",
    "organization_id",
    "webhook_id",
    "event",
    "event_id",
    "attempt",
    "status",
    "response_status",
    "latency_ms",
    "error",
    "next_attempt_at",
)
OUTCOME_FIELDS = ("status", "response_status", "latency_ms", "error", "next_attempt_at")


def attempt_view(record: Record, attempt: Attempt, signing_secrets: list[str], url: str) -> dict[str, Any]:
    """An attempt about to be sent (``record`` is its pending delivery log entry)."""
    view = {name: record.get(name) for name in ATTEMPT_FIELDS}
    view.update(
        url=url,
        attempted_at=record.get("delivered_at"),
        timestamp=attempt.timestamp,
        request={"headers": attempt_headers(attempt, signing_secrets), "body": attempt.body.decode()},
    )
    return view


def finished_view(sent: dict[str, Any], record: Record, started: int) -> dict[str, Any]:
    """The attempt ``sent`` with its outcome (``record``: the finished log entry); ``started`` is the
    number its sent state got in the feed's log, which orders the inspector's list."""
    return {**sent, **{name: record.get(name) for name in OUTCOME_FIELDS}, "started": started}


def public_attempt(view: dict[str, Any]) -> dict[str, Any]:
    """An attempt as the inspector shows it: with the exact string that was signed."""
    request = view["request"]
    signed = f"{view['timestamp']}.{request['body']}"
    return {
        **{name: value for name, value in view.items() if name not in ("timestamp", "started")},
        "request": {**request, "signed_content": signed},
    }
