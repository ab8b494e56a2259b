"""Each shipped scenario, run for one tenant through the control API, observed over HTTP and at
a loopback webhook receiver. The clock is frozen: only ``advance`` moves it."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from sandbox.base.clock import parse_iso
from sandbox.base.durations import parse_duration
from sandbox.services.webhooks import verify_signature
from sandbox.web.app import sandbox_of
from tests.support import auth, start

pytestmark = pytest.mark.both_stores


def advance(client: Any, by: str) -> None:
    """What POST /_sandbox/clock/advance does (that endpoint's own tests live with it)."""
    sandbox_of(client.application).clock.advance(parse_duration(by))


def test_rate_limit_429s_with_retry_after_then_recovers(client: Any, keys: dict[str, Any]) -> None:
    start(client, keys["admin"], "rate-limit")
    write = auth(keys["write"])
    answers = [client.get("/api/v1/leads?limit=1", headers=write) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["4", "3", "2", "1", "0", "0"]
    limited = answers[-1]
    assert limited.headers["X-RateLimit-Limit"] == "5"
    assert limited.headers["Retry-After"] == "60"  # the frozen clock sits at the start of a window
    assert abs(int(limited.headers["X-RateLimit-Reset"]) - (time.time() + 60)) <= 2  # wall clock
    assert limited.get_json()["error"]["code"] == "rate_limited"
    # Another tenant keeps the normal limit; control endpoints stay reachable with the same key.
    other = client.get("/api/v1/leads?limit=1", headers=auth(keys["other_write"]))
    assert other.status_code == 200 and other.headers["X-RateLimit-Limit"] == "6000"
    assert client.get("/_sandbox/scenarios/active", headers=write).get_json()["run"]["name"] == "rate-limit"

    advance(client, "60s")
    recovered = client.get("/api/v1/leads?limit=1", headers=write)
    assert recovered.status_code == 200 and recovered.headers["X-RateLimit-Remaining"] == "4"

    assert client.delete("/_sandbox/scenarios/active", headers=auth(keys["admin"])).get_json()["stopped"]
    assert client.get("/api/v1/leads?limit=1", headers=write).headers["X-RateLimit-Limit"] == "6000"


def test_webhook_replay_delivers_each_event_again_duplicated_and_out_of_order(
    client: Any, keys: dict[str, Any], receiver: Any, subscribe: Any, sandbox: Any
) -> None:
    subscribe(receiver.url, ["lead.created"])
    run = start(client, keys["admin"], "webhook-replay")
    assert run["state"] == "done"
    delivered = receiver.wait_for(12)
    ids = [d.event_id for d in delivered]
    originals = set(ids[:3])  # the first deliveries race each other; replays go one at a time
    assert len(originals) == 3 and Counter(ids) == {event_id: 4 for event_id in originals}
    reverse, shuffled = (step["result"]["event_ids"] for step in run["timeline"]["steps"][1:])
    emitted = [event_id for event_id in reverse[::-1] if event_id in originals]  # in emission order
    assert ids[3:9] == [event_id for event_id in emitted[::-1] for _ in range(2)]  # newest first, twice
    assert ids[9:] == [event_id for event_id in shuffled if event_id in originals] != emitted
    assert len({d.headers["x-eal-delivery-id"] for d in delivered}) == 12  # every delivery is its own
    # A receiver that dedupes by event id ends up with the three leads the scenario created.
    processed = {d.event_id: json.loads(d.body)["data"]["id"] for d in delivered}
    leads = client.get("/api/v1/leads?limit=10", headers=auth(keys["read"])).get_json()["data"]
    assert set(processed.values()) <= {lead["id"] for lead in leads}


def test_storm_night_is_a_burst_of_calls_that_become_leads(
    client: Any, keys: dict[str, Any], receiver: Any, subscribe: Any, sandbox: Any
) -> None:
    subscribe(receiver.url, ["call.received", "call.classified", "call.qualified", "lead.created"])
    run = start(client, keys["admin"], "storm-night")
    assert run["state"] == "waiting" and run["timeline"]["steps_done"] == 4
    assert sandbox.webhooks.settle(None, 5)
    counts = Counter(d.event_type for d in receiver.wait_for(11 + 11 + 8 + 8))
    assert counts == {"call.received": 11, "call.classified": 11, "call.qualified": 8, "lead.created": 8}

    qualified = [json.loads(d.body)["data"] for d in receiver.of_type("call.qualified")]
    call = client.get(f"/api/v1/calls/{qualified[0]['call']['id']}", headers=auth(keys["read"])).get_json()
    assert call["classification"]["qualified"] and call["classification"]["intent"] in (
        "water",
        "fire",
        "mold",
        "biohazard",
    )
    assert call["dispatch_decision"]["action"] in ("auto_dispatch", "callback_scheduled") and call["transcript"]
    lead = client.get(f"/api/v1/leads/{qualified[0]['lead_id']}", headers=auth(keys["read"]))
    assert lead.status_code == 200

    advance(client, "45m")  # the second wave
    assert sandbox.webhooks.settle(None, 5)
    assert len(receiver.wait_for(38 + 12)) == 50 and len(receiver.of_type("call.qualified")) == 11
    status = client.get("/_sandbox/scenarios/active", headers=auth(keys["read"])).get_json()["run"]
    assert status["state"] == "done" and status["timeline"]["steps_done"] == 5


def test_claim_lifecycle_from_creation_through_extraction_to_review(
    client: Any, keys: dict[str, Any], receiver: Any, subscribe: Any, sandbox: Any
) -> None:
    subscribe(receiver.url, ["claim.scope.ready"])
    start(client, keys["admin"], "claim-lifecycle")
    read, write = auth(keys["read"]), auth(keys["write"])
    newest = client.get("/api/v1/claims?limit=2", headers=read).get_json()["data"]
    fire, water = newest
    assert (water["loss_type"], water["status"]) == ("water", "ready_for_review")
    assert (fire["loss_type"], fire["status"]) == ("fire", "extracting")
    assert [json.loads(d.body)["data"]["id"] for d in receiver.wait_for(1)] == [water["id"]]

    claim = client.get(f"/api/v1/claims/{water['id']}", headers=read).get_json()
    items = [item for room in claim["rooms"] for item in room["scope_items"]]
    decisions = [
        {"scope_item_id": items[0]["id"], "decision": "approve"},
        {"scope_item_id": items[1]["id"], "decision": "reject", "reason": "pre-existing damage"},
    ]
    reviewed = client.post(f"/api/v1/claims/{water['id']}/review", headers=write, json={"decisions": decisions})
    assert reviewed.status_code == 200 and reviewed.get_json()["status"] == "reviewed"

    advance(client, "24h")  # no real waiting: the fire claim's extraction finishes
    assert client.get(f"/api/v1/claims/{fire['id']}", headers=read).get_json()["status"] == "ready_for_review"
    assert sandbox.webhooks.settle(None, 5) and len(receiver.wait_for(2)) == 2


def test_secret_rotation_overlap_ends_when_the_clock_passes_24_hours(
    client: Any, keys: dict[str, Any], receiver: Any, subscribe: Any
) -> None:
    old = subscribe(receiver.url, ["lead.created"])["signing_secret"]
    run = start(client, keys["admin"], "secret-rotation")
    new = run["timeline"]["steps"][1]["result"]["rotated"][0]["signing_secret"]
    assert new != old and run["state"] == "done"
    before, during, after = receiver.wait_for(3)

    def verifies(delivery: Any, secret: str) -> bool:
        # Against real time, as the partner's receiver checks it, although the scenario moved the
        # sandbox clock 24 hours: X-EAL-Timestamp is wall-clock time.
        return verify_signature(delivery.body, delivery.headers, secret)

    assert verifies(before, old) and not verifies(before, new)
    assert verifies(during, old) and verifies(during, new) and "x-eal-signature-previous" in during.headers
    assert verifies(after, new) and not verifies(after, old) and "x-eal-signature-previous" not in after.headers
    # The events carry sandbox time: the one after the overlap is 24 sandbox hours later.
    created = [parse_iso(json.loads(d.body)["created_at"]) for d in (during, after)]
    assert created[1] - created[0] >= timedelta(hours=24)


def test_flaky_api_is_slow_and_fails_deterministically_with_retry_after(
    client: Any, keys: dict[str, Any], sandbox: Any
) -> None:
    write = auth(keys["write"])

    def run_once() -> tuple[list[int], list[int]]:
        start(client, keys["admin"], "flaky-api")
        reads = [client.get("/api/v1/leads?limit=1", headers=write) for _ in range(6)]
        writes = [
            client.post("/api/v1/leads", headers=write, json={"name": f"Lead {n}", "email": f"l{n}@example.com"})
            for n in range(10)
        ]
        failed_read = reads[2]
        assert failed_read.headers["Retry-After"] == "2"
        assert failed_read.get_json()["error"]["code"] == "injected_fault"
        return [r.status_code for r in reads], [r.status_code for r in writes]

    leads_before = sandbox.store.count("lead", keys["org_id"])
    started = time.perf_counter()
    reads, writes = run_once()
    elapsed = time.perf_counter() - started
    assert reads == [200, 200, 503, 200, 200, 503]
    assert set(writes) == {201, 500} and writes.count(500) >= 1
    assert elapsed >= 16 * 0.04  # every request waited at least the scenario's 40 ms
    assert sandbox.store.count("lead", keys["org_id"]) == leads_before + writes.count(201)  # a 500 wrote nothing
    assert run_once() == (reads, writes)  # restarting replays the same faults in the same places
    other = client.get("/api/v1/leads?limit=1", headers=auth(keys["other_write"]))
    assert other.status_code == 200  # another tenant is unaffected
