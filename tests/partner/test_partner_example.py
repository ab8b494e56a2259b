"""An example a partner can paste into their own suite.

It needs only the sandbox (installed from its repository or a wheel built from it), httpx and
pytest: the ``eal_sandbox`` fixture comes from the package's pytest plugin (registered through
the ``pytest11`` entry point), starts the sandbox in-process on a free port and puts the world
back to its seed after every test.
"""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def api(eal_sandbox):
    """An HTTP client for the sandbox's /api/v1, acting with a read+write key."""
    headers = {"Authorization": f"Bearer {eal_sandbox.keys['write']}"}
    with httpx.Client(base_url=eal_sandbox.api_url, headers=headers, timeout=10) as client:
        yield client


def test_lead_round_trip_shows_up_in_the_audit_log(api, eal_sandbox):
    created = api.post(
        "/leads", json={"name": "Sarah Mitchell", "email": "sarah@example.com", "company": "Mitchell Restoration"}
    )
    assert created.status_code == 201, created.text
    lead = created.json()
    assert lead["pipeline_stage"] == "new"

    fetched = api.get(f"/leads/{lead['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["email"] == "sarah@example.com"

    patched = api.patch(
        f"/leads/{lead['id']}",
        json={"pipeline_stage": "qualified", "lead_score": 82},
        headers={"X-Correlation-Id": "partner-ci-run-1"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["lead_score"] == 82

    audit = api.get("/audit-log", params={"action": "lead.updated", "limit": 10}).json()["data"]
    entry = next(event for event in audit if event["payload"]["lead_id"] == lead["id"])
    assert entry["correlation_id"] == "partner-ci-run-1"
    assert entry["payload"]["diff"]["pipeline_stage"] == {"from": "new", "to": "qualified"}


def test_the_clock_moves_only_when_told(api, eal_sandbox):
    before = eal_sandbox.clock.now()
    eal_sandbox.advance("2h")
    assert (eal_sandbox.clock.now() - before).total_seconds() >= 2 * 3600


def test_each_test_starts_from_the_seed(api, eal_sandbox):
    # The lead created by the first test is gone: the fixture resets the world after each test.
    found = api.get("/leads", params={"limit": 200}).json()["data"]
    assert all(lead["email"] != "sarah@example.com" for lead in found)


def test_rate_limit_and_request_id_headers_are_there(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.headers["X-Request-Id"].startswith("req_")
    assert int(response.headers["X-RateLimit-Remaining"]) > 0
