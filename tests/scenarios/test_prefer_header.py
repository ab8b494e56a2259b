"""Prefer (Prism style): force one response without changing server state."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox.base.spec import load_spec
from tests.support import auth

pytestmark = pytest.mark.both_stores

LEAD = {"name": "Ana Ruiz", "email": "ana@example.com"}


def test_code_forces_a_documented_error_with_its_envelope(client: Any, keys: dict[str, Any], sandbox: Any) -> None:
    leads = sandbox.store.count("lead", keys["org_id"])
    limited = client.post("/api/v1/leads", headers={**auth(keys["write"]), "Prefer": "code=429"}, json=LEAD)
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"]
    failing = client.get("/api/v1/leads", headers={**auth(keys["read"]), "Prefer": "code=503"})
    assert failing.status_code == 503 and failing.get_json()["error"]["code"] == "injected_fault"
    missing = client.get("/api/v1/leads", headers={**auth(keys["read"]), "Prefer": "code=409"})
    assert missing.status_code == 400 and "not a documented response" in missing.get_json()["error"]["message"]
    assert sandbox.store.count("lead", keys["org_id"]) == leads  # nothing was created


def test_code_forces_a_success_with_the_operation_example(client: Any, keys: dict[str, Any], sandbox: Any) -> None:
    created = client.post("/api/v1/leads", headers={**auth(keys["write"]), "Prefer": "code=201"}, json=LEAD)
    media = load_spec().document["paths"]["/api/v1/leads"]["post"]["responses"]["201"]["content"]["application/json"]
    assert created.status_code == 201 and created.get_json() == media["example"]
    assert created.headers["Preference-Applied"] == "code=201"
    assert sandbox.store.get("lead", keys["org_id"], created.get_json()["id"]) is None


def test_example_picks_a_named_example(client: Any, keys: dict[str, Any]) -> None:
    named = client.get("/api/v1/health", headers={"Prefer": "example=anonymous"})
    assert named.status_code == 200 and "tenant_id" not in named.get_json()
    assert named.headers["Preference-Applied"] == "example=anonymous"
    unknown = client.get("/api/v1/leads", headers={**auth(keys["read"]), "Prefer": "example=nope"})
    assert unknown.status_code == 400 and "has no example named 'nope'" in unknown.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("scenario", "operation", "status", "retry_after"),
    [
        ("rate-limit", "/api/v1/leads", 429, "60"),
        ("flaky-api", "/api/v1/leads", 503, "2"),
    ],
)
def test_scenario_applies_to_this_request_only(
    client: Any, keys: dict[str, Any], scenario: str, operation: str, status: int, retry_after: str
) -> None:
    forced = client.get(operation, headers={**auth(keys["read"]), "Prefer": f"scenario={scenario}"})
    assert forced.status_code == status and forced.headers["Retry-After"] == retry_after
    assert forced.headers["Preference-Applied"] == f"scenario={scenario}"
    assert client.get(operation, headers=auth(keys["read"])).status_code == 200
    running = client.get("/_sandbox/scenarios/active", headers=auth(keys["read"])).get_json()
    assert running == {"running": False, "run": None}
    unknown = client.get(operation, headers={**auth(keys["read"]), "Prefer": "scenario=../../etc/passwd"})
    assert unknown.status_code == 400


def test_a_forced_429_reads_like_a_real_one(client: Any, keys: dict[str, Any]) -> None:
    forced = client.get("/api/v1/leads", headers={**auth(keys["read"]), "Prefer": "code=429"})
    error = forced.get_json()["error"]
    assert forced.status_code == 429 and error["code"] == "rate_limited"
    assert set(error["details"]) == {"limit", "window_seconds", "retry_after_seconds"}  # as the limiter's
    assert forced.headers["Retry-After"] == str(error["details"]["retry_after_seconds"])
    assert forced.headers["X-RateLimit-Remaining"] == "0"
    # Wall-clock unix seconds (what a client compares with its own clock), not the sandbox's frozen clock.
    reset_in = int(forced.headers["X-RateLimit-Reset"]) - time.time()
    assert abs(reset_in - error["details"]["retry_after_seconds"]) <= 2


def test_a_scenario_that_forces_nothing_is_still_echoed(client: Any, keys: dict[str, Any]) -> None:
    # webhook-replay sets no server behaviour: the request goes on to its handler (a 404 here),
    # whose answer still says the preference was honoured.
    response = client.get(
        "/api/v1/leads/00000000-0000-4000-8000-000000000000",
        headers={**auth(keys["read"]), "Prefer": "scenario=webhook-replay"},
    )
    assert response.status_code == 404
    assert response.headers["Preference-Applied"] == "scenario=webhook-replay"


@pytest.mark.parametrize("prefer", ["code=201", "code=503", "example=anonymous", "scenario=flaky-api"])
def test_a_forced_answer_needs_a_valid_request(client: Any, keys: dict[str, Any], prefer: str) -> None:
    """As with Prism: the request is validated first, so an invalid one earns its own 400."""
    typo = client.post(
        "/api/v1/leads", headers={**auth(keys["write"]), "Prefer": prefer}, json={"emial": "ana@example.com"}
    )
    assert typo.status_code == 400 and typo.get_json()["error"]["code"] == "validation_error"
    assert "Preference-Applied" not in typo.headers
    bad_query = client.get("/api/v1/leads?limit=0", headers={**auth(keys["read"]), "Prefer": prefer})
    assert (
        bad_query.status_code == 400
        and bad_query.get_json()["error"]["details"]["fields"][0]["location"] == "query.limit"
    )
    unauthenticated = client.get("/api/v1/leads", headers={"Prefer": prefer})
    assert unauthenticated.status_code == 401


def test_the_pipeline_runs_its_steps_in_the_documented_order() -> None:
    from sandbox.operations.pipeline import RequestPipeline

    assert RequestPipeline.STEPS == (
        "authenticate",
        "admit",
        "rate_limit",
        "authorize",
        "scenario",
        "validate",
        "prefer",
        "quota",
        "invoke",
    )
