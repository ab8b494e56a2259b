"""Sandboxes side by side: two of the same seed start alike, and nothing one does reaches the other.

Every promise is checked over the HTTP surface with two sandboxes minted through
``POST /_sandbox/sandboxes``: records, the clock, scenarios (behaviour and timelines), rate limits,
the journal, webhooks and deliveries, resets, deletion and expiry — and ids and secrets minted at
run time never repeat, across sandboxes, resets and restarts.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from sandbox.web.app import runtime_of
from tests.support import Receiver, auth, fresh_database, make_app, subscribe_with

pytestmark = pytest.mark.both_stores


@pytest.fixture(scope="module")
def app(store: str) -> Iterator[Flask]:
    """An app of its own on each store (``both_stores``): these tests mint, expire and delete sandboxes."""
    # a Redis database of its own (its fleet's start-up sandbox is this app's); a Redis Cluster has one
    made = make_app(STORE=fresh_database(store) if store.startswith("redis://") else store, LEADS_PER_ORG=30)
    yield made
    runtime_of(made).close()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


class Minted:
    """A sandbox minted over HTTP, with its keys by role."""

    def __init__(self, client: Any, **body: Any) -> None:
        response = client.post("/_sandbox/sandboxes", json=body)
        assert response.status_code == 201, response.get_json()
        self.body = response.get_json()
        self.id = self.body["id"]
        network = next(k for k in self.body["keys"] if k["parent_organization_id"] is None)["organization_id"]
        location = next(k for k in self.body["keys"] if k["parent_organization_id"] is not None)["organization_id"]
        self.org_id, self.network_id = location, network
        self.keys = {
            ("parent_" if k["organization_id"] == network else "") + k["scopes"][-1]: k["token"]
            for k in self.body["keys"]
            if k["organization_id"] in (network, location)
        }

    def headers(self, role: str = "write") -> dict[str, str]:
        return auth(self.keys[role])


@pytest.fixture
def pair(client: Any, app: Flask) -> Iterator[tuple[Minted, Minted]]:
    minted = Minted(client), Minted(client)
    yield minted
    for sandbox in minted:
        found = runtime_of(app).sandboxes.find(sandbox.id)
        if found is not None:
            runtime_of(app).sandboxes.delete(found)


def test_two_sandboxes_of_one_seed_start_alike_with_their_own_keys(client, pair):
    one, two = pair
    assert one.id != two.id and one.id.startswith("sbx_")
    assert set(one.keys.values()).isdisjoint(two.keys.values())
    first = [
        client.get(path, headers=sandbox.headers("read")).get_data()
        for sandbox in pair
        for path in ("/api/v1/leads", "/api/v1/calls?limit=5")
    ]
    assert first[0] == first[2] and first[1] == first[3]  # byte-identical seeded first pages
    assert one.body["seed"] == two.body["seed"] == 7


def test_a_lead_written_in_one_is_not_in_the_other(client, pair):
    one, two = pair
    lead = client.post("/api/v1/leads", headers=one.headers(), json={"email": "only.one@example.com"}).get_json()
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=one.headers("read")).status_code == 200
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=two.headers("read")).status_code == 404
    newest = client.get("/api/v1/leads?limit=1", headers=two.headers("read")).get_json()["data"][0]
    assert newest["id"] != lead["id"]


def test_each_has_its_own_clock(client, pair):
    one, two = pair
    before = client.get("/_sandbox/clock", headers=two.headers("read")).get_json()["now"]
    advanced = client.post("/_sandbox/clock/advance", headers=one.headers("admin"), json={"by": "400d"})
    assert advanced.status_code == 200
    assert client.get("/_sandbox/clock", headers=one.headers("read")).get_json()["now"] > before
    assert client.get("/_sandbox/clock", headers=two.headers("read")).get_json()["now"] == before
    # Its grants expired only in the sandbox whose clock moved: the parent's delegated read still works in two.
    delegated = {"X-EAL-Organization": two.org_id, **two.headers("parent_read")}
    assert client.get("/api/v1/leads?limit=1", headers=delegated).status_code == 200
    delegated_one = {"X-EAL-Organization": one.org_id, **one.headers("parent_read")}
    assert client.get("/api/v1/leads?limit=1", headers=delegated_one).status_code == 403


def test_a_scenario_in_one_changes_nothing_in_the_other(client, pair):
    one, two = pair
    started = client.post("/_sandbox/scenarios/active", headers=one.headers("admin"), json={"name": "rate-limit"})
    assert started.status_code == 201
    answers = [client.get("/api/v1/leads?limit=1", headers=one.headers("read")).status_code for _ in range(6)]
    assert answers[-1] == 429
    assert all(client.get("/api/v1/leads?limit=1", headers=two.headers("read")).status_code == 200 for _ in range(8))
    status = client.get("/_sandbox/scenarios/active", headers=two.headers("read")).get_json()
    assert status["running"] is False


def test_a_timeline_plays_in_its_own_sandbox_only(client, pair):
    one, two = pair
    inline = {
        "version": 1,
        "name": "three-leads",
        "description": "Three leads.",
        "timeline": [{"create": "lead", "count": 3}],
    }
    client.post("/_sandbox/scenarios/active", headers=one.headers("admin"), json={"scenario": inline})
    mine = client.get("/_sandbox/events?limit=50", headers=one.headers("read")).get_json()["data"]
    theirs = client.get("/_sandbox/events?limit=50", headers=two.headers("read")).get_json()["data"]
    assert sum(event["type"] == "lead.created" for event in mine) == 3 and theirs == []


def test_the_journal_and_coverage_are_per_sandbox(client, pair):
    one, two = pair
    client.get("/api/v1/leads?limit=2", headers={**one.headers("read"), "X-Correlation-Id": "corr_one_only"})
    mine = client.get("/_sandbox/journal?limit=50", headers=one.headers("read")).get_json()["data"]
    theirs = client.get("/_sandbox/journal?limit=50", headers=two.headers("read")).get_json()["data"]
    assert any(entry["correlation_id"] == "corr_one_only" for entry in mine)
    assert not any(entry["correlation_id"] == "corr_one_only" for entry in theirs)
    coverage = client.get("/_sandbox/journal/coverage", headers=two.headers("read")).get_json()
    assert "list_leads" in coverage["never_called"]


def test_webhooks_and_deliveries_stay_in_their_sandbox(client, app, pair):
    one, two = pair
    mine, theirs = Receiver(), Receiver()
    try:
        subscribe_with(client, one.keys["admin"], mine.url, ["lead.created"])
        subscribe_with(client, two.keys["admin"], theirs.url, ["lead.created"])
        client.post("/api/v1/leads", headers=two.headers(), json={"email": "two@example.com"})
        assert len(theirs.wait_for(1)) == 1
        sandbox = runtime_of(app).sandboxes.find(one.id)
        assert sandbox is not None and sandbox.webhooks.settle(None, 5)
        assert mine.deliveries == []
        listed = client.get("/api/v1/webhooks", headers=one.headers("read")).get_json()["data"]
        assert [hook["url"] for hook in listed] == [mine.url]
    finally:
        mine.close()
        theirs.close()


def test_a_reset_of_one_leaves_the_other_alone(client, pair):
    one, two = pair
    kept = client.post("/api/v1/leads", headers=two.headers(), json={"email": "kept@example.com"}).get_json()
    gone = client.post("/api/v1/leads", headers=one.headers(), json={"email": "gone@example.com"}).get_json()
    reset = client.post("/_sandbox/reset", headers=one.headers("parent_admin"), json={"scope": "world"})
    assert reset.status_code == 200
    assert client.get(f"/api/v1/leads/{gone['id']}", headers=one.headers("read")).status_code == 404
    assert client.get(f"/api/v1/leads/{kept['id']}", headers=two.headers("read")).status_code == 200


def test_the_current_sandbox_shows_itself_without_tokens(client, pair):
    one, _ = pair
    current = client.get("/_sandbox/sandboxes/current", headers=one.headers("read")).get_json()
    assert current["id"] == one.id and current["seed"] == 7 and current["ttl_seconds"] == 7200
    assert all("token" not in key for key in current["keys"])
    assert len(current["keys"]) == len(one.body["keys"]) == 12
    assert current["expires_at"] >= one.body["expires_at"]


def test_deleting_one_makes_its_keys_unknown_and_drops_its_work(client, app, pair):
    one, two = pair
    sandbox = runtime_of(app).sandboxes.find(one.id)
    assert sandbox is not None
    claim = client.post(
        "/api/v1/claims",
        headers=one.headers(),
        json={"loss_type": "water", "source": {"vendor": "companycam", "project_id": "cc_proj_1"}},
    )
    assert claim.status_code == 202  # its extraction is a timer, 5 minutes out
    assert sandbox.clock.pending() >= 1
    location_admin = client.delete("/_sandbox/sandboxes/current", headers=one.headers("admin"))
    assert location_admin.status_code == 403
    deleted = client.delete("/_sandbox/sandboxes/current", headers=one.headers("parent_admin"))
    assert deleted.status_code == 204
    for token in one.keys.values():
        refused = client.get("/api/v1/health", headers=auth(token))
        assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    assert sandbox.clock.pending() == 0
    assert client.get("/api/v1/leads?limit=1", headers=two.headers("read")).status_code == 200
    backend = runtime_of(app).sandboxes.backend
    if backend.shared:  # a fleet: nothing of it is left in Redis, not even its own DELETE's journal entry
        assert list(backend.client.scan_iter(match=f"sbx:{{{one.id}}}:*")) == []


def test_a_write_racing_the_deletion_of_its_sandbox_is_refused_and_leaves_nothing(client, app, pair, monkeypatch):
    # another request (on a fleet: maybe through another process) deletes the sandbox between this
    # write's checks and its commit: the write answers 401 and nothing of it stays behind
    backend = runtime_of(app).sandboxes.backend
    if not backend.shared:
        pytest.skip("the memory store: a write lands in the deleted sandbox's objects, which go with it")
    one, _ = pair
    sandbox = runtime_of(app).sandboxes.find(one.id)
    insert = sandbox.store.insert

    def deleted_meanwhile(kind, record):
        runtime_of(app).sandboxes.delete(sandbox)
        return insert(kind, record)

    monkeypatch.setattr(sandbox.store, "insert", deleted_meanwhile)
    raced = client.post("/api/v1/leads", headers=one.headers(), json={"email": "raced@example.com"})
    assert raced.status_code == 401, raced.get_json()
    assert raced.get_json()["error"]["code"] == "unauthorized"
    assert list(backend.client.scan_iter(match=f"sbx:{{{one.id}}}:*")) == []


def test_the_start_up_sandbox_cannot_be_deleted(client, app):
    world = runtime_of(app).sandbox.world
    network_admin = next(
        k["token"] for k in world.keys if k["organization_id"] == world.parent_org_id and "admin" in k["scopes"]
    )
    refused = client.delete("/_sandbox/sandboxes/current", headers=auth(network_admin))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "conflict"


def test_an_idle_sandbox_expires_and_its_memory_is_returned(client, app):
    directory = runtime_of(app).sandboxes
    minted = Minted(client, ttl="1m")
    for number in range(200):
        client.post("/api/v1/leads", headers=minted.headers(), json={"email": f"lead{number}@example.com"})
    sandbox = directory.find(minted.id)
    assert sandbox is not None and sandbox.store.changed >= 400  # 200 leads and their audit events
    store, live = weakref.ref(sandbox.store), len(directory)
    expires_at = sandbox.lifetime.expires_at
    assert expires_at is not None
    del sandbox
    assert directory.sweep(now=expires_at.timestamp() - 1) == 0  # not yet
    assert directory.sweep(now=expires_at.timestamp() + 1) == 1
    gc.collect()
    assert store() is None, "nothing keeps an expired sandbox's records alive"
    assert len(directory) == live - 1
    refused = client.get("/api/v1/health", headers=minted.headers("read"))
    assert refused.status_code == 401


def test_use_extends_a_sandboxs_life(client, app):
    minted = Minted(client, ttl="10m")
    first = minted.body["expires_at"]
    sandbox = runtime_of(app).sandboxes.find(minted.id)
    assert sandbox is not None
    sandbox.state.put("last-used", sandbox.lifetime.last_used - 60)  # as if the sandbox had been idle for a minute
    idle = sandbox.lifetime.expires_at
    client.get("/api/v1/health", headers=minted.headers("read"))
    assert sandbox.lifetime.expires_at > idle
    assert client.get("/_sandbox/sandboxes/current", headers=minted.headers("read")).get_json()["expires_at"] >= first
    runtime_of(app).sandboxes.delete(sandbox)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ttl": "30s"}, "body.ttl"),
        ({"ttl": "8d"}, "body.ttl"),
        ({"ttl": "soon"}, "body.ttl"),
        ({"ttl": "0647416086306072243488.6ms"}, "body.ttl"),  # was a 500 (timedelta overflow), found by schemathesis
        ({"seed": -1}, "body.seed"),
        ({"leads_per_org": 0}, "body.leads_per_org"),
        ({"leads_per_org": 1001}, "body.leads_per_org"),
        ({"colour": "red"}, "body.colour"),
    ],
)
def test_creation_options_are_bounded(client, body, field):
    refused = client.post("/_sandbox/sandboxes", json=body)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"]["fields"][0]["location"] == field


def test_a_sandbox_of_its_own_seed_size_and_scenario(client, app):
    minted = Minted(client, seed=11, leads_per_org=5, scenario="rate-limit")
    assert (minted.body["seed"], minted.body["leads_per_org"]) == (11, 5)
    leads = client.get("/api/v1/leads?limit=200", headers=minted.headers("read")).get_json()["data"]
    assert len(leads) == 5
    limited = client.get("/api/v1/leads?limit=1", headers=minted.headers("read"))
    assert limited.headers["X-RateLimit-Limit"] == "5"  # the scenario is in force for every organization
    unknown = client.post("/_sandbox/sandboxes", json={"scenario": "no-such-thing"})
    assert unknown.status_code == 404
    runtime_of(app).sandboxes.delete(runtime_of(app).sandboxes.find(minted.id))  # type: ignore[arg-type]


def test_run_time_ids_and_secrets_never_repeat(client, pair):
    """Across sandboxes, across a reset, and across a restart (a fresh instance of the same seed)."""
    seen_events, seen_secrets = set(), set()

    def mint(sandbox: Minted, app_client: Any) -> None:
        hook = app_client.post(
            "/api/v1/webhooks",
            headers=sandbox.headers("admin"),
            json={"url": "http://127.0.0.1:9/h", "events": ["lead.created"]},
        ).get_json()
        app_client.post("/api/v1/leads", headers=sandbox.headers(), json={"email": "same@example.com"})
        event = app_client.get("/_sandbox/events?limit=1", headers=sandbox.headers("read")).get_json()["data"][0]
        assert event["id"] not in seen_events and hook["signing_secret"] not in seen_secrets
        seen_events.add(event["id"])
        seen_secrets.add(hook["signing_secret"])

    for sandbox in pair:
        mint(sandbox, client)
    client.post("/_sandbox/reset", headers=pair[0].headers("parent_admin"), json={"scope": "world"})
    mint(pair[0], client)
    restarted = make_app(LEADS_PER_ORG=30)  # another instance, same seed and clock
    try:
        mint(Minted(restarted.test_client()), restarted.test_client())
    finally:
        runtime_of(restarted).close()
    assert len(seen_events) == len(seen_secrets) == 4


def test_the_start_up_sandbox_keeps_the_seeds_tokens(app):
    """So `eal-sandbox keys --seed N` prints the keys `eal-sandbox serve --seed N` accepts."""
    runtime = runtime_of(app)
    assert [key["token"] for key in runtime.sandbox.keys] == [key["token"] for key in runtime.sandbox.world.keys]
    assert runtime.sandbox.lifetime.expires_at is None


def test_the_directory_shares_one_seeded_world_per_seed_and_size(client, app):
    directory = runtime_of(app).sandboxes
    one, two = Minted(client), Minted(client)
    first, second = directory.find(one.id), directory.find(two.id)
    assert first is not None and second is not None
    assert first.store.base is second.store.base
    default = directory.default.settings  # on a shared Redis Cluster: another app's start-up sandbox
    if (default.SEED, default.LEADS_PER_ORG) == (first.settings.SEED, first.settings.LEADS_PER_ORG):
        assert first.store.base is directory.default.store.base
    for sandbox in (first, second):
        directory.delete(sandbox)
    assert timedelta(seconds=directory.default.settings.SANDBOX_TTL) == timedelta(hours=2)
