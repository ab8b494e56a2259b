"""Fleet mode over real parts: two ``eal-sandbox serve --store redis://…`` processes behind an nginx
round-robin on loopback, one Redis. A partner's journey passes through the fleet as through one
server; a process killed mid-burst loses no event; both restarted lose nothing; a timer fires once
across the fleet; a rate limit counts across both."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fleet.support import Fleet, require_nginx
from tests.partner.test_parallel_workers import PARTNER_TESTS
from tests.support import Receiver, fresh_database

ROOT = Path(__file__).resolve().parents[2]
FAST = {
    "EAL_SANDBOX_LEADS_PER_ORG": "20",
    "EAL_SANDBOX_WEBHOOK_RETRY_BASE": "0.2",
    "EAL_SANDBOX_WEBHOOK_RECLAIM_SECONDS": "2",
    "EAL_SANDBOX_WEBHOOK_TIMEOUT": "2",
}


@pytest.fixture
def fleet(redis_url: str) -> Iterator[Fleet]:
    require_nginx()
    running = Fleet(fresh_database(redis_url), 2, FAST)
    yield running
    running.close()


def admin_key(client: httpx.Client) -> tuple[str, str]:
    """The first location's admin token and its organization (the start-up sandbox, shared by the fleet)."""
    keys = client.get("/_sandbox/keys").json()["data"]
    parent = keys[0]["organization_id"]
    key = next(k for k in keys if k["organization_id"] != parent and "admin" in k["scopes"])
    return key["token"], key["organization_id"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def subscribe(client: httpx.Client, token: str, url: str, events: list[str]) -> dict[str, Any]:
    made = client.post("/api/v1/webhooks", headers=auth(token), json={"url": url, "events": events})
    assert made.status_code == 201, made.text
    return dict(made.json())


def stored_events(client: httpx.Client, token: str, event_type: str) -> set[str]:
    """Every stored event of that type of the key's organization (all pages)."""
    found: set[str] = set()
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get("/_sandbox/events", headers=auth(token), params=params).json()
        found |= {event["id"] for event in page["data"] if event["type"] == event_type}
        cursor = page["next_cursor"]
        if not cursor:
            return found


def wait_until(check: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def test_a_partners_suite_passes_through_the_fleet_as_through_one_server(fleet: Fleet, tmp_path: Path) -> None:
    (tmp_path / "test_partner_parallel.py").write_text(PARTNER_TESTS)
    example = ROOT / "tests" / "partner" / "test_partner_example.py"
    (tmp_path / "test_partner_example.py").write_text(example.read_text())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "--eal-sandbox-url",
            fleet.url,
            "test_partner_parallel.py",
            "test_partner_example.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_killing_a_process_mid_burst_still_delivers_every_event(fleet: Fleet) -> None:
    receiver = Receiver()
    try:
        with fleet.client() as client:
            token, _ = admin_key(client)
            subscribe(client, token, receiver.url, ["lead.created"])
            answers: list[int] = []

            def burst() -> None:
                for n in range(500):
                    try:
                        answers.append(
                            client.post(
                                "/api/v1/leads", headers=auth(token), json={"email": f"burst{n}@example.com"}
                            ).status_code
                        )
                    except httpx.HTTPError:
                        answers.append(0)

            sender = threading.Thread(target=burst)
            sender.start()
            wait_until(lambda: len(answers) >= 150, 60, "the burst did not get going")
            fleet.servers[0].kill()  # mid-burst: its queued and in-flight deliveries must not be lost
            sender.join(timeout=120)
            assert not sender.is_alive()
            assert answers.count(201) >= 300, f"most of the burst went through the live process: {answers.count(201)}"
            emitted = stored_events(client, token, "lead.created")
            assert len(emitted) >= answers.count(201)
            wait_until(
                lambda: emitted <= {d.event_id for d in receiver.deliveries},
                90,
                f"{len(emitted - {d.event_id for d in receiver.deliveries})} events never delivered",
            )
            assert {d.event_id for d in receiver.deliveries} == emitted  # exactly the emitted set, de-duplicated
    finally:
        receiver.close()


def test_restarting_every_process_loses_nothing(fleet: Fleet) -> None:
    with fleet.client() as client:
        token, org_id = admin_key(client)
        minted = client.post("/_sandbox/sandboxes", json={"leads_per_org": 5}).json()
        minted_key = next(
            k["token"]
            for k in minted["keys"]
            if "admin" in k["scopes"] and k["organization_id"] != minted["keys"][0]["organization_id"]
        )
        lead = client.post("/api/v1/leads", headers=auth(minted_key), json={"email": "kept@example.com"}).json()
        hook = subscribe(client, minted_key, "http://127.0.0.1:9/eal", ["lead.created"])  # loopback: never sent
        made = client.post(
            "/api/v1/organizations",
            headers=auth(next(k["token"] for k in minted["keys"] if "admin" in k["scopes"])),
            json={"name": "Kept Location"},
        )
        assert made.status_code == 201, made.text
        issued = made.json()["sandbox_keys"][0]["token"]
    for server in fleet.servers:
        server.kill()
    for server in fleet.servers:
        server.start()
    with fleet.client() as client:
        current = client.get("/_sandbox/sandboxes/current", headers=auth(minted_key))
        assert current.status_code == 200 and current.json()["id"] == minted["id"]
        assert client.get(f"/api/v1/leads/{lead['id']}", headers=auth(minted_key)).json()["email"] == "kept@example.com"
        hooks = client.get("/api/v1/webhooks", headers=auth(minted_key)).json()["data"]
        assert [h["id"] for h in hooks] == [hook["id"]]
        assert client.get("/api/v1/health", headers=auth(issued)).status_code == 200
        assert client.get("/api/v1/health", headers=auth(token)).json()["tenant_id"] == org_id


def test_a_claims_completion_fires_once_across_the_fleet(redis_url: str) -> None:
    receiver = Receiver()
    require_nginx()
    fleet = Fleet(fresh_database(redis_url), 2, {**FAST, "EAL_SANDBOX_CLAIM_EXTRACTION_SECONDS": "1"})
    try:
        with fleet.client() as client:
            token, _ = admin_key(client)
            subscribe(client, token, receiver.url, ["claim.scope.ready"])
            claim = client.post(
                "/api/v1/claims",
                headers=auth(token),
                json={
                    "loss_type": "water",
                    "job_external_ref": "jn_1",
                    "source": {"vendor": "companycam", "project_id": "cc_1"},
                },
            )
            assert claim.status_code == 202, claim.text
            # Nobody reads the claim: its completion is the fleet's timer, fired by one process or the other.
            wait_until(lambda: receiver.deliveries, 30, "claim.scope.ready never arrived")
            ready = stored_events(client, token, "claim.scope.ready")
            assert len(ready) == 1
            assert (
                client.get(f"/api/v1/claims/{claim.json()['id']}", headers=auth(token)).json()["status"]
                == "ready_for_review"
            )
            assert stored_events(client, token, "claim.scope.ready") == ready  # a read does not fire it again
            assert {d.event_id for d in receiver.deliveries} == ready
    finally:
        fleet.close()
        receiver.close()


def test_a_rate_limit_counts_across_both_processes(redis_url: str) -> None:
    require_nginx()
    fleet = Fleet(fresh_database(redis_url), 2, {**FAST, "EAL_SANDBOX_RATE_LIMIT": "10"})
    try:
        with httpx.Client(timeout=10) as client, fleet.client() as through_nginx:
            token, _ = admin_key(through_nginx)
            first, second = (server.url for server in fleet.servers)
            answers = [client.get(f"{(first, second)[n % 2]}/api/v1/leads", headers=auth(token)) for n in range(10)]
            assert [a.status_code for a in answers] == [200] * 10
            assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers] == list(range(9, -1, -1))
            refused = client.get(f"{first}/api/v1/leads", headers=auth(token))
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
            assert client.get(f"{fleet.url}/api/v1/leads", headers=auth(token)).status_code == 429
    finally:
        fleet.close()
