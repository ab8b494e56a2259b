"""Inbound calls: list, the full record with a signed recording URL, and windowed stats."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

from ..base.clock import isoformat
from .lookups import find, matching
from .pagination import list_page
from .request import ApiRequest

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
INTENTS = ("water", "fire", "mold", "biohazard", "sales_pitch", "wrong_number", "other")
FILTERED_CLASSIFICATIONS = ("sales", "junk")
SUMMARY_FIELDS = (
    "id",
    "tracking_number",
    "caller_number",
    "duration_seconds",
    "status",
    "classification",
    "qualified",
    "urgency",
)


def summary(call_record: dict[str, Any]) -> dict[str, Any]:
    """The list view: the seed's flat shape, dispatch decision as its action."""
    view = {name: call_record.get(name) for name in SUMMARY_FIELDS}
    view["dispatch_decision"] = call_record["dispatch_decision"]["action"]
    view["received_at"] = call_record["received_at"]
    return view


def recording_url(request: ApiRequest, call_record: dict[str, Any]) -> str | None:
    """A one-hour signed URL to the recording; a missed call has none."""
    if call_record["status"] == "missed":
        return None
    return request.sandbox.signed_urls.sign(request.base_url, f"/_sandbox/recordings/{call_record['id']}")


def detail(request: ApiRequest, call_record: dict[str, Any]) -> dict[str, Any]:
    """The full record: recording, transcript, classification and dispatch decision."""
    return {
        "id": call_record["id"],
        "tracking_number": call_record["tracking_number"],
        "caller_number": call_record["caller_number"],
        "duration_seconds": call_record["duration_seconds"],
        "status": call_record["status"],
        "recording_url": recording_url(request, call_record),
        "transcript": call_record["transcript"],
        "classification": {
            "intent": call_record["intent"],
            "confidence": call_record["confidence"],
            "urgency": call_record["urgency"],
            "qualified": call_record["qualified"],
        },
        "dispatch_decision": dict(call_record["dispatch_decision"]),
        "received_at": call_record["received_at"],
    }


def list_calls(request: ApiRequest) -> dict[str, Any]:
    """Page through the organization's calls, newest first."""
    where = matching(request, ("status", "classification", "qualified"))
    return list_page(request, "call", where=where, view=summary)


def get_call(request: ApiRequest) -> dict[str, Any]:
    """The full call record with a fresh signed recording URL."""
    return detail(request, find(request, "call", request.path["id"]))


def calls_in_window(request: ApiRequest, window: str) -> list[dict[str, Any]]:
    """The caller's calls received in the ``window`` that ends now."""
    now = request.sandbox.clock.now()
    start, end = isoformat(now - WINDOWS[window]), isoformat(now)
    return [
        record for record in request.sandbox.store.scan("call", request.org_id) if start < record["received_at"] <= end
    ]


def half_up(value: float) -> int:
    """Round to the nearest whole second, halves up (a median of two may end in .5)."""
    return int(value + 0.5)


def get_call_stats(request: ApiRequest) -> dict[str, Any]:
    """Counts by intent and qualified flag, and the median classification time, for a window."""
    window = request.query.get("window", "7d")
    records = calls_in_window(request, window)
    by_intent = dict.fromkeys(INTENTS, 0)
    for record in records:
        by_intent[record["intent"]] += 1
    durations = [r["classification_seconds"] for r in records if r.get("classification_seconds") is not None]
    return {
        "window": window,
        "total_calls": len(records),
        "qualified": sum(1 for record in records if record["qualified"]),
        "junk_filtered": sum(1 for r in records if r["classification"] in FILTERED_CLASSIFICATIONS),
        "by_intent": by_intent,
        "median_classification_seconds": half_up(statistics.median(durations)) if durations else None,
    }
