"""A hosted sandbox server no visitor can break, read or exhaust — each promise over real HTTP on
loopback (a threaded server on a free port), with bounded loops.

Hosted mode (``HOSTED=True``, ``eal-sandbox serve --hosted``): no public keys, anonymous creation
limited per client address, a cap on live sandboxes; quotas per sandbox answered with
``429 quota_exceeded``; inputs that used to reach a 500 answered with a 4xx envelope.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.web.app import runtime_of
from tests.support import LiveSandbox, fresh_database

EXTREME = "9999-12-31T23:59:59-23:59"


@pytest.fixture(scope="module")
def hosted() -> Iterator[LiveSandbox]:
    server = LiveSandbox(
        HOSTED=True,
        LEADS_PER_ORG=20,
        SANDBOX_CREATIONS_PER_MINUTE=50,
        QUOTA_RECORDS_PER_KIND=60,
        QUOTA_EVENTS_PER_MINUTE=10**6,
        QUOTA_CONCURRENT_REQUESTS=0,
    )
    yield server
    server.close()


@pytest.fixture
def http(hosted: LiveSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hosted.base_url, timeout=30, trust_env=False) as client:
        yield client


def mint(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/_sandbox/sandboxes", json=body)
    assert response.status_code == 201, response.text
    made = dict(response.json())
    made["roles"] = {
        ("parent_" if k["parent_organization_id"] is None else "") + k["scopes"][-1]: k["token"]
        for k in made["keys"]
        if k["parent_organization_id"] is None
        or k["organization_id"] == next(x["organization_id"] for x in made["keys"] if x["parent_organization_id"])
    }
    made["org_id"] = next(k["organization_id"] for k in made["keys"] if k["parent_organization_id"])
    made["network_id"] = next(k["organization_id"] for k in made["keys"] if not k["parent_organization_id"])
    return made


def as_key(sandbox: dict[str, Any], role: str = "write") -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox['roles'][role]}"}


def quota(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded" and {"quota", "limit", "how_to_free"} <= set(error["details"])
    return dict(error["details"])


# No public keys ---------------------------------------------------------------------------------------


def test_no_key_is_public(http: httpx.Client, hosted: LiveSandbox) -> None:
    listing = http.get("/_sandbox/keys")
    assert listing.status_code == 404 and listing.json()["error"]["code"] == "not_found"
    assert "eal_test_" not in http.get("/docs").text
    seeded = next(k["token"] for k in runtime_of(hosted.app).sandbox.world.keys)  # what `eal-sandbox keys` prints
    assert http.get("/api/v1/health", headers={"Authorization": f"Bearer {seeded}"}).status_code == 401


def test_no_key_of_one_sandbox_reaches_anothers_data_or_controls(http: httpx.Client) -> None:
    mine, theirs = mint(http), mint(http)
    lead = http.post("/api/v1/leads", headers=as_key(theirs), json={"email": "theirs@example.com"}).json()
    assert http.get(f"/api/v1/leads/{lead['id']}", headers=as_key(mine, "read")).status_code == 404
    # Sandboxes of one seed have the same seeded ids: naming "their" location reads my own location's copy.
    delegated = {**as_key(mine, "parent_read"), "X-EAL-Organization": theirs["org_id"]}
    listed = http.get("/api/v1/leads", headers=delegated, params={"limit": 200}).json()["data"]
    assert lead["id"] not in {row["id"] for row in listed}
    before = http.get("/_sandbox/clock", headers=as_key(theirs, "read")).json()["now"]
    http.post("/_sandbox/clock/advance", headers=as_key(mine, "admin"), json={"by": "7d"})
    assert http.get("/_sandbox/clock", headers=as_key(theirs, "read")).json()["now"] == before
    assert http.delete("/_sandbox/sandboxes/current", headers=as_key(mine, "parent_admin")).status_code == 204
    assert http.get("/api/v1/leads/" + lead["id"], headers=as_key(theirs, "read")).status_code == 200


# Per client address and per server ---------------------------------------------------------------------


def test_anonymous_creation_is_limited_per_client_address() -> None:
    server = LiveSandbox(HOSTED=True, LEADS_PER_ORG=5, SANDBOX_CREATIONS_PER_MINUTE=3, TRUSTED_PROXIES="127.0.0.1")
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            behind_proxy = {"X-Forwarded-For": "203.0.113.7"}
            answers = [client.post("/_sandbox/sandboxes", headers=behind_proxy).status_code for _ in range(4)]
            assert answers == [201, 201, 201, 429]
            refused = client.post("/_sandbox/sandboxes", headers=behind_proxy)
            details = quota(refused)
            assert details["client_address"] == "203.0.113.7" and int(refused.headers["Retry-After"]) >= 1
            # Another client behind the same proxy has its own budget; a spoofed hop is not believed:
            assert client.post("/_sandbox/sandboxes", headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 201
            spoofed = {"X-Forwarded-For": "203.0.113.99, 203.0.113.7"}  # the proxy appended the real client last
            assert client.post("/_sandbox/sandboxes", headers=spoofed).status_code == 429
    finally:
        server.close()


def test_keyless_requests_are_limited_per_client_address() -> None:
    server = LiveSandbox(HOSTED=True, LEADS_PER_ORG=5, KEYLESS_REQUESTS_PER_MINUTE=5)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            statuses = [client.get("/api/v1/health").status_code for _ in range(6)]
            assert statuses == [200] * 5 + [429]
    finally:
        server.close()


def test_a_full_server_evicts_its_longest_idle_sandbox() -> None:
    server = LiveSandbox(HOSTED=True, LEADS_PER_ORG=5, MAX_SANDBOXES=3)  # the start-up sandbox counts too
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            oldest, newer = mint(client), mint(client)
            client.get("/api/v1/health", headers=as_key(newer, "read"))  # newer was used last
            newest = mint(client)
            assert client.get("/api/v1/health", headers=as_key(oldest, "read")).status_code == 401
            for alive in (newer, newest):
                assert client.get("/api/v1/health", headers=as_key(alive, "read")).status_code == 200
    finally:
        server.close()


def test_distinct_seeded_worlds_are_capped(http: httpx.Client) -> None:
    created = [http.post("/_sandbox/sandboxes", json={"seed": seed, "leads_per_org": 3}) for seed in range(1000, 1006)]
    refused = [response for response in created if response.status_code != 201]
    assert refused and quota(refused[0])["quota"] == "seeded_worlds"
    assert http.post("/_sandbox/sandboxes").status_code == 201  # the server's own seed and size always fit


# Quotas per sandbox -------------------------------------------------------------------------------------


def test_records_per_kind_then_nothing_half_written(http: httpx.Client) -> None:
    mine = mint(http)

    def audited() -> int:
        return len(
            http.get(
                "/api/v1/audit-log", headers=as_key(mine, "read"), params={"action": "lead.created", "limit": 200}
            ).json()["data"]
        )

    seeded_audit = audited()
    answers = [http.post("/api/v1/leads", headers=as_key(mine), json={"email": f"q{n}@example.com"}) for n in range(40)]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused, "60 records of one kind (each lead adds a lead, an audit event and a webhook event)"
    details = quota(refused[0])
    assert details["quota"].startswith("records_per_kind:") and details["limit"] == 60
    leads = http.get("/api/v1/leads", headers=as_key(mine, "read"), params={"limit": 200}).json()["data"]
    made = sum(1 for answer in answers if answer.status_code == 201)
    assert len(leads) == 20 + made  # the seed's twenty and every lead stored, none refused
    assert audited() == seeded_audit + made  # every stored lead has its audit event, every refused one neither
    assert (
        http.post("/_sandbox/reset", headers=as_key(mine, "parent_admin"), json={"scope": "world"}).status_code == 200
    )
    assert http.post("/api/v1/leads", headers=as_key(mine), json={"email": "again@example.com"}).status_code == 201


def test_organizations_webhooks_and_rotations_are_capped() -> None:
    server = LiveSandbox(HOSTED=True, LEADS_PER_ORG=5, QUOTA_ORGANIZATIONS=2, QUOTA_WEBHOOKS=2)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            mine = mint(client)
            orgs = [
                client.post(
                    "/api/v1/organizations", headers=as_key(mine, "parent_admin"), json={"name": f"PuroClean Test {n}"}
                )
                for n in range(3)
            ]
            assert [o.status_code for o in orgs[:2]] == [201, 201] and quota(orgs[2])["quota"] == "organizations"
            hooks = [
                client.post(
                    "/api/v1/webhooks",
                    headers=as_key(mine, "admin"),
                    json={"url": f"http://127.0.0.1:9/h{n}", "events": ["lead.created"]},
                )
                for n in range(3)
            ]
            assert [h.status_code for h in hooks[:2]] == [201, 201] and quota(hooks[2])["quota"] == "webhooks"
            webhook_id = hooks[0].json()["id"]
            rotations = [
                client.post(f"/api/v1/webhooks/{webhook_id}/rotate-secret", headers=as_key(mine, "admin"))
                for _ in range(6)
            ]
            assert [r.status_code for r in rotations[:5]] == [200] * 5
            assert quota(rotations[5])["quota"] == "rotations_in_overlap"
            previous = client.get(f"/api/v1/webhooks/{webhook_id}", headers=as_key(mine, "read")).json()
            assert previous["signing_secret_prefix"] == rotations[4].json()["signing_secret_prefix"]  # not rotated
    finally:
        server.close()


def test_an_oversized_scenario_is_refused_before_it_runs(http: httpx.Client) -> None:
    mine = mint(http)
    huge = {
        "version": 1,
        "name": "huge",
        "description": "Too much.",
        "timeline": [{"trigger": "call.qualified", "count": 200} for _ in range(100)],
    }
    details = quota(http.post("/_sandbox/scenarios/active", headers=as_key(mine, "admin"), json={"scenario": huge}))
    assert details["quota"] == "scenario_records" and details["records"] == 20_000
    assert (
        http.get("/api/v1/calls", headers=as_key(mine, "read"), params={"limit": 1}).json()["data"][0]["id"]
        == http.get("/api/v1/calls", headers=as_key(mint(http), "read"), params={"limit": 1}).json()["data"][0]["id"]
    )
    slow = {
        "version": 1,
        "name": "slow",
        "description": "Thirty seconds a request.",
        "behaviour": {"latency": [{"operations": ["*"], "ms": 30_000}]},
    }
    assert (
        quota(http.post("/_sandbox/scenarios/active", headers=as_key(mine, "admin"), json={"scenario": slow}))["quota"]
        == "latency_ms"
    )


@pytest.mark.parametrize("on", ["memory", "redis"])
def test_events_per_minute_are_capped(on: str, request: pytest.FixtureRequest) -> None:
    # On Redis each event is counted in its write's own commit step (``Store.count_on_commit``).
    store = "memory" if on == "memory" else fresh_database(request.getfixturevalue("redis_url"))
    server = LiveSandbox(HOSTED=True, LEADS_PER_ORG=5, QUOTA_EVENTS_PER_MINUTE=6, STORE=store)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            mine, other = mint(client), mint(client)
            answers = [
                client.post("/api/v1/leads", headers=as_key(mine), json={"email": f"e{n}@example.com"})
                for n in range(5)
            ]  # two events each: lead.created and audit.log.event
            assert [a.status_code for a in answers[:3]] == [201] * 3 and quota(answers[3])[
                "quota"
            ] == "events_per_minute"
            assert (
                client.post("/api/v1/leads", headers=as_key(other), json={"email": "o@example.com"}).status_code == 201
            )
    finally:
        server.close()


def test_the_journal_is_bounded_in_bytes_and_correlation_ids_in_length() -> None:
    server = LiveSandbox(HOSTED=True, LEADS_PER_ORG=5, QUOTA_JOURNAL_BYTES=64 * 1024)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            mine = mint(client)
            long = "c" * 129
            refused = client.get("/api/v1/leads", headers={**as_key(mine, "read"), "X-Correlation-Id": long})
            assert refused.status_code == 400
            assert refused.json()["error"]["details"]["fields"][0]["location"] == "header.X-Correlation-Id"
            for n in range(300):
                client.get("/api/v1/health", headers={**as_key(mine, "read"), "X-Correlation-Id": f"{n:03d}" * 40})
            sandbox = runtime_of(server.app).sandboxes.find(mine["id"])
            assert sandbox is not None and sandbox.journal.size_bytes <= 64 * 1024
            kept = client.get("/_sandbox/journal", headers=as_key(mine, "read"), params={"limit": 1000}).json()
            assert 0 < kept["total"] < 300 and kept["data"][0]["correlation_id"] == "299" * 40  # the newest stay
    finally:
        server.close()


def test_concurrent_requests_of_one_sandbox_are_capped_and_sleep_only_in_it() -> None:
    """A scenario's latency holds at most QUOTA_CONCURRENT_REQUESTS of its own sandbox's requests; the rest
    are refused at once, and another sandbox is answered while they sleep."""
    import concurrent.futures

    server = LiveSandbox(HOSTED=True, LEADS_PER_ORG=5, QUOTA_CONCURRENT_REQUESTS=2, QUOTA_LATENCY_MS=3000)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            slow, calm = mint(client), mint(client)
            scenario = {
                "version": 1,
                "name": "slow",
                "description": "Three seconds a read.",
                "behaviour": {"latency": [{"operations": ["list_*"], "ms": 3000}]},
            }
            assert (
                client.post(
                    "/_sandbox/scenarios/active", headers=as_key(slow, "admin"), json={"scenario": scenario}
                ).status_code
                == 201
            )
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                sleeping = [pool.submit(client.get, "/api/v1/leads", headers=as_key(slow, "read")) for _ in range(4)]
                answered = client.get("/api/v1/leads", headers=as_key(calm, "read"))
                assert answered.status_code == 200
                assert not all(future.done() for future in sleeping), "the calm sandbox did not wait for them"
                statuses = sorted(future.result().status_code for future in sleeping)
            assert statuses == [200, 200, 429, 429]
    finally:
        server.close()


# Inputs that reached a 500 ----------------------------------------------------------------------------------


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


def cursor(created_at: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"created_at": created_at, "id": "x"}).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("method", "path", "body", "role", "field"),
    [
        ("POST", "/api/v1/leads", {"name": "N", "company": "C", "pain_points": deep(300)}, "write", None),
        ("GET", f"/api/v1/leads?start_at={EXTREME}", None, "read", "query.start_at"),
        ("GET", f"/api/v1/leads?end_at={EXTREME}", None, "read", "query.end_at"),
        ("GET", f"/_sandbox/journal?since={EXTREME}", None, "read", "query.since"),
        (
            "POST",
            "/api/v1/organizations/{org_id}/grants",
            {"parent_organization_id": "{network_id}", "scopes": ["leads.read"], "expires_at": EXTREME},
            "admin",
            "body.expires_at",
        ),
        ("GET", f"/api/v1/leads?cursor={cursor(EXTREME)}", None, "read", "query.cursor"),
        ("POST", "/api/v1/webhooks", {"url": "http://[127.0.0.1]/h", "events": ["lead.created"]}, "admin", "body.url"),
        (
            "POST",
            "/api/v1/webhooks",
            {"url": "http://127.0.0.1:18501\t/ok", "events": ["lead.created"]},
            "admin",
            "body.url",
        ),
    ],
)
def test_what_reached_a_500_is_a_4xx_envelope(
    http: httpx.Client, method: str, path: str, body: Any, role: str, field: str | None
) -> None:
    mine = mint(http)
    text = json.dumps(body) if body is not None else None
    for name in ("org_id", "network_id"):
        path = path.replace("{" + name + "}", mine[name])
        text = text.replace("{" + name + "}", mine[name]) if text else None
    response = http.request(
        method, path, headers={**as_key(mine, role), "Content-Type": "application/json"}, content=text
    )
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    if field is not None:
        assert error["details"]["fields"][0]["location"] == field


def test_the_clock_stops_at_its_horizon(http: httpx.Client) -> None:
    mine = mint(http)
    answers = [
        http.post("/_sandbox/clock/advance", headers=as_key(mine, "admin"), json={"by": "9999w9999w9999w9999w"})
        for _ in range(2)
    ]  # 766 years a step, from 2026: the second would pass year 3000
    assert [a.status_code for a in answers] == [200, 400]
    assert answers[1].json()["error"]["details"]["fields"][0]["location"] == "body.by"
    assert (
        http.post(
            "/api/v1/claims",
            headers=as_key(mine),
            json={  # the sandbox still works near the horizon
                "loss_type": "water",
                "source": {"vendor": "companycam", "project_id": "cc_proj_1"},
            },
        ).status_code
        == 202
    )


def test_published_urls_are_percent_encoded(http: httpx.Client) -> None:
    mine = mint(http)
    reply = http.post(
        "/api/v1/content/review-response",
        headers=as_key(mine),
        json={"review_id": "Ò/x?y", "rating": 5, "review_text": "Great crew."},
    ).json()
    published = http.post(
        f"/api/v1/content/{reply['id']}/publish", headers=as_key(mine), json={"channels": ["google"]}
    ).json()
    assert published["results"][0]["url"] == "https://example.com/reviews/%C3%92%2Fx%3Fy"
