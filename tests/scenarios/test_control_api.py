"""The scenario control API: list, start (shipped or inline), status, stop; scopes; clear errors."""

from __future__ import annotations

from typing import Any

from tests.conftest import auth

INLINE = {
    "version": 1,
    "name": "slow-writes",
    "description": "Every create answers 503 first.",
    "behaviour": {
        "faults": [{"operations": ["create_lead"], "status": 503, "first": 1, "retry_after": "5s"}]
    },
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
    started = client.post(
        "/_sandbox/scenarios/active", headers=auth(keys["admin"]), json={"scenario": INLINE}
    )
    assert started.status_code == 201 and started.get_json()["scope"] == "organization"
    lead = {"name": "Ana Ruiz", "email": "ana@example.com"}
    first = client.post("/api/v1/leads", headers=auth(keys["write"]), json=lead)
    assert first.status_code == 503 and first.headers["Retry-After"] == "5"
    assert client.post("/api/v1/leads", headers=auth(keys["write"]), json=lead).status_code == 201
    assert client.post("/api/v1/leads", headers=auth(keys["other_write"]), json=lead).status_code == 201
    stopped = client.delete("/_sandbox/scenarios/active", headers=auth(keys["admin"])).get_json()
    assert stopped["stopped"] and stopped["run"]["state"] == "stopped"
    assert (
        client.delete("/_sandbox/scenarios/active", headers=auth(keys["admin"])).get_json()["stopped"]
        is False
    )


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
    both = client.post(
        "/_sandbox/scenarios/active", headers=admin, json={"name": "rate-limit", "scenario": INLINE}
    )
    assert both.status_code == 400
    assert (
        client.post(
            "/_sandbox/scenarios/active", headers=auth(keys["write"]), json={"name": "rate-limit"}
        ).status_code
        == 403
    )
