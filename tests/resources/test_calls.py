"""Calls: filtered pages, the full record with a signed recording URL, and windowed stats."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.base.clock import isoformat
from tests.support import FROZEN_AT, auth

pytestmark = pytest.mark.both_stores

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}


def get(client: Any, token: str, path: str, **query: Any) -> Any:
    return client.get(f"/api/v1{path}", query_string=query, headers=auth(token))


def stored(sandbox: Any, org_id: str, **wanted: Any) -> list[dict[str, Any]]:
    return [c for c in sandbox.store.scan("call", org_id) if all(c[k] == v for k, v in wanted.items())]


def test_list_is_newest_first_in_the_seed_shape(client, keys, sandbox):
    body = get(client, keys["read"], "/calls", limit=20).get_json()
    expected = stored(sandbox, keys["org_id"])[:20]
    assert [c["id"] for c in body["data"]] == [c["id"] for c in expected]
    first, record = body["data"][0], expected[0]
    assert first["dispatch_decision"] == record["dispatch_decision"]["action"]
    assert first["classification"] == record["classification"]
    assert first["received_at"] == record["received_at"]
    assert "transcript" not in first


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ({"classification": "water"}, {"classification": "water"}),
        ({"classification": "junk"}, {"classification": "junk"}),
        ({"status": "missed"}, {"status": "missed"}),
        ({"qualified": "true"}, {"qualified": True}),
        ({"qualified": "false", "classification": "fire"}, {"qualified": False, "classification": "fire"}),
    ],
)
def test_filters_match_a_manual_count(client, keys, sandbox, query, wanted):
    body = get(client, keys["read"], "/calls", limit=200, **query).get_json()
    expected = stored(sandbox, keys["org_id"], **wanted)
    assert expected, "the seeded world should hold calls of every filtered kind"
    assert [c["id"] for c in body["data"]] == [c["id"] for c in expected[:200]]


def test_pages_chain_without_gaps_or_repeats(client, keys, sandbox):
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        page = {"cursor": cursor} if cursor else {}
        body = get(client, keys["read"], "/calls", limit=7, **page).get_json()
        seen += [c["id"] for c in body["data"]]
        cursor = body["next_cursor"]
    assert seen == [c["id"] for c in stored(sandbox, keys["org_id"])[:28]]


def test_get_call_returns_the_full_record(client, keys, sandbox):
    record = stored(sandbox, keys["org_id"], status="completed", qualified=True)[0]
    body = get(client, keys["read"], f"/calls/{record['id']}").get_json()
    assert body["transcript"] == record["transcript"]
    assert body["classification"] == {
        "intent": record["intent"],
        "confidence": record["confidence"],
        "urgency": record["urgency"],
        "qualified": True,
    }
    assert body["dispatch_decision"] == record["dispatch_decision"]
    assert set(body["dispatch_decision"]) == {"action", "reason", "sms_callback_sent", "job_created_in_jobnimbus"}


def test_recording_url_is_signed_for_an_hour_and_served(client, keys, sandbox):
    record = stored(sandbox, keys["org_id"], status="completed")[0]
    url = get(client, keys["read"], f"/calls/{record['id']}").get_json()["recording_url"]
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://localhost"
    assert parts.path == f"/_sandbox/recordings/{record['id']}"
    query = parse_qs(parts.query)
    assert int(query["exp"][0]) == int(FROZEN_AT.timestamp()) + 3600
    served = client.get(parts.path, query_string=parts.query)
    assert served.mimetype == "audio/wav" and served.get_data().startswith(b"RIFF")


def test_missed_call_has_no_recording(client, keys, sandbox):
    record = stored(sandbox, keys["org_id"], status="missed")[0]
    body = get(client, keys["read"], f"/calls/{record['id']}").get_json()
    assert body["recording_url"] is None and body["transcript"] is None


def test_another_tenants_call_is_404(client, keys, sandbox):
    record = stored(sandbox, keys["org_id"])[0]
    response = get(client, keys["other_read"], f"/calls/{record['id']}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def manual_stats(sandbox: Any, org_id: str, window: str) -> dict[str, Any]:
    start, end = isoformat(FROZEN_AT - WINDOWS[window]), isoformat(FROZEN_AT)
    calls = [c for c in stored(sandbox, org_id) if start < c["received_at"] <= end]
    seconds = sorted(c["classification_seconds"] for c in calls)
    median = int(statistics.median(seconds) + 0.5) if seconds else None
    intents = ("water", "fire", "mold", "biohazard", "sales_pitch", "wrong_number", "other")
    return {
        "window": window,
        "total_calls": len(calls),
        "qualified": sum(c["qualified"] for c in calls),
        "junk_filtered": sum(c["classification"] in ("sales", "junk") for c in calls),
        "by_intent": {intent: sum(c["intent"] == intent for c in calls) for intent in intents},
        "median_classification_seconds": median,
    }


@pytest.mark.parametrize("window", ["24h", "7d", "30d", "90d"])
def test_stats_agree_with_a_manual_count(client, keys, sandbox, window):
    body = get(client, keys["read"], "/calls/stats", window=window).get_json()
    assert body == manual_stats(sandbox, keys["org_id"], window)
    assert sum(body["by_intent"].values()) == body["total_calls"]


def test_stats_default_to_seven_days_and_grow_with_the_window(client, keys, sandbox):
    default = get(client, keys["read"], "/calls/stats").get_json()
    assert default == manual_stats(sandbox, keys["org_id"], "7d")
    totals = [get(client, keys["read"], "/calls/stats", window=w).get_json()["total_calls"] for w in WINDOWS]
    assert totals == sorted(totals) and totals[-1] > totals[1] > 0


def test_stats_are_per_tenant(client, keys, sandbox):
    body = get(client, keys["other_read"], "/calls/stats", window="90d").get_json()
    assert body == manual_stats(sandbox, keys["other_org_id"], "90d")
