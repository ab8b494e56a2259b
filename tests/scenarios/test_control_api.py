"""The scenario control API: list, start (shipped or inline), status, stop; scopes; clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import auth

pytestmark = pytest.mark.both_stores

INLINE = {
    "version": 1,
    "name": "slow-writes",
    "description": "Every create answers 503 first.",
    "behaviour": {"faults": [{"operations": ["create_lead"], "status": 503, "first": 1, "retry_after": "5s"}]},
}


def test_list_shows_the_shipped_scenarios_and_the_active_one(client: Any, keys: dict[str, Any]) -> None:
    listed = client.get("/_sandbox/scenarios", headers=auth(keys["read"])).get_json()["data"]
    names = {entry["name"]: entry for entry in listed}
    assert {
        "rate-limit",
        "webhook-replay",
        "storm-night",
        "claim-lifecycle",
        "secret-rotation",
        "flaky-api",
    } <= set(names)
    assert names["rate-limit"]["rate_limit"] == {"limit": 5, "window_seconds": 60}
    assert not any(entry["active"] for entry in listed)
    client.post("/_sandbox/scenarios/active", headers=auth(keys["admin"]), json={"name": "flaky-api"})
    listed = client.get("/_sandbox/scenarios", headers=auth(keys["read"])).get_json()["data"]
    assert [entry["name"] for entry in listed if entry["active"]] == ["flaky-api"]


def test_an_inline_scenario_runs_for_the_callers_organization_only(client: Any, keys: dict[str, Any]) -> None:
    started = client.post("/_sandbox/scenarios/active", headers=auth(keys["admin"]), json={"scenario": INLINE})
    assert started.status_code == 201 and started.get_json()["scope"] == "organization"
    lead = {"name": "Ana Ruiz", "email": "ana@example.com"}
    first = client.post("/api/v1/leads", headers=auth(keys["write"]), json=lead)
    assert first.status_code == 503 and first.headers["Retry-After"] == "5"
    assert client.post("/api/v1/leads", headers=auth(keys["write"]), json=lead).status_code == 201
    assert client.post("/api/v1/leads", headers=auth(keys["other_write"]), json=lead).status_code == 201
    stopped = client.delete("/_sandbox/scenarios/active", headers=auth(keys["admin"])).get_json()
    assert stopped["stopped"] and stopped["run"]["state"] == "stopped"
    assert client.delete("/_sandbox/scenarios/active", headers=auth(keys["admin"])).get_json()["stopped"] is False


def test_bad_requests_say_what_is_wrong(client: Any, keys: dict[str, Any]) -> None:
    admin = auth(keys["admin"])
    broken = {**INLINE, "behaviour": {"faults": [{"status": 418, "every": 0}]}}
    invalid = client.post("/_sandbox/scenarios/active", headers=admin, json={"scenario": broken})
    fields = {f["location"]: f["message"] for f in invalid.get_json()["error"]["details"]["fields"]}
    assert invalid.status_code == 400
    assert fields["body.scenario.behaviour.faults[0].status"].startswith("418 is not one of")
    assert "minimum of 1" in fields["body.scenario.behaviour.faults[0].every"]
    unknown = client.post("/_sandbox/scenarios/active", headers=admin, json={"name": "no-such-thing"})
    assert unknown.status_code == 404 and "rate-limit" in unknown.get_json()["error"]["message"]
    traversal = client.post("/_sandbox/scenarios/active", headers=admin, json={"name": "../../etc/passwd"})
    assert traversal.status_code == 400
    both = client.post("/_sandbox/scenarios/active", headers=admin, json={"name": "rate-limit", "scenario": INLINE})
    assert both.status_code == 400
    assert (
        client.post("/_sandbox/scenarios/active", headers=auth(keys["write"]), json={"name": "rate-limit"}).status_code
        == 403
    )


TWO_STEPS = {
    "version": 1,
    "name": "two-steps",
    "description": "Two events, one after the other.",
    "timeline": [{"trigger": "lead.created"}, {"trigger": "lead.updated"}],
}


def test_a_failing_receiver_does_not_hold_up_a_scenario_start(client: Any, keys: dict[str, Any], sandbox: Any) -> None:
    """Each step waits for its deliveries in flight, not for the retries a 500 parks on the clock."""
    from tests.support import Receiver, subscribe_with

    failing = Receiver(status=500)
    try:
        subscribe_with(client, keys["admin"], failing.url, ["lead.created", "lead.updated"])
        started = client.post("/_sandbox/scenarios/active", headers=auth(keys["admin"]), json={"scenario": TWO_STEPS})
        assert started.status_code == 201, started.get_json()
        steps = started.get_json()["timeline"]["steps"]
        assert [step["result"]["deliveries_settled"] for step in steps] == [True, True]
        assert len(failing.wait_for(2)) >= 2  # both events were attempted (and refused) before start answered
        assert sandbox.webhooks.next_retry_at() is not None  # their retries are parked on the frozen clock
    finally:
        failing.close()


def test_another_organizations_parked_retries_do_not_hold_up_a_scenario(
    client: Any, keys: dict[str, Any], sandbox: Any
) -> None:
    from tests.support import Receiver, subscribe_with

    failing, healthy = Receiver(status=500), Receiver()
    try:
        subscribe_with(client, keys["other_admin"], failing.url, ["lead.created"])
        client.post("/api/v1/leads", headers=auth(keys["other_write"]), json={"email": "parked@example.com"})
        assert sandbox.webhooks.settle(keys["other_org_id"], 5)
        assert sandbox.webhooks.next_retry_at() is not None  # the sibling's retry waits on the clock
        subscribe_with(client, keys["admin"], healthy.url, ["lead.created", "lead.updated"])
        started = client.post("/_sandbox/scenarios/active", headers=auth(keys["admin"]), json={"scenario": TWO_STEPS})
        steps = started.get_json()["timeline"]["steps"]
        assert [step["result"]["deliveries_settled"] for step in steps] == [True, True]
        assert {d.event_type for d in healthy.wait_for(2)} >= {"lead.created", "lead.updated"}
    finally:
        failing.close()
        healthy.close()
