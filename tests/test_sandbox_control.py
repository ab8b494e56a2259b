"""The sandbox-only control endpoints: keys, reset, clock, events, signed file URLs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import FROZEN_AT, auth

pytestmark = pytest.mark.both_stores


def test_keys_are_listed_without_a_key(client, sandbox):
    keys = client.get("/_sandbox/keys").get_json()["data"]
    assert len(keys) == 12
    assert {tuple(k["scopes"]) for k in keys} == {("read",), ("read", "write"), ("read", "write", "admin")}
    assert all(k["token"].startswith("eal_test_") for k in keys)


def test_reset_organization_restores_the_seed_and_leaves_others(client, keys, sandbox):
    before = client.get("/api/v1/leads?limit=5", headers=auth(keys["read"])).get_json()
    created = client.post("/api/v1/leads", json={"email": "gone@example.com"}, headers=auth(keys["write"]))
    theirs = client.post("/api/v1/leads", json={"email": "kept@example.com"}, headers=auth(keys["other_write"]))
    assert created.status_code == theirs.status_code == 201
    response = client.post("/_sandbox/reset", json={}, headers=auth(keys["admin"]))
    assert response.get_json()["reset"] == "organization"
    assert client.get("/api/v1/leads?limit=5", headers=auth(keys["read"])).get_json() == before
    assert client.get(f"/api/v1/leads/{created.get_json()['id']}", headers=auth(keys["read"])).status_code == 404
    kept = client.get(f"/api/v1/leads/{theirs.get_json()['id']}", headers=auth(keys["other_read"]))
    assert kept.status_code == 200


def test_reset_world_needs_the_networks_admin_key(client, keys, sandbox):
    created = client.post("/api/v1/leads", json={"email": "gone@example.com"}, headers=auth(keys["write"]))
    for token in (keys["write"], keys["admin"]):  # a child location's keys never reset other tenants
        refused = client.post("/_sandbox/reset", json={"scope": "world"}, headers=auth(token))
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert sandbox.store.get("lead", keys["org_id"], created.get_json()["id"]) is not None
    done = client.post("/_sandbox/reset", json={"scope": "world"}, headers=auth(keys["parent_admin"]))
    assert done.get_json()["reset"] == "world"
    assert sandbox.store.get("lead", keys["org_id"], created.get_json()["id"]) is None


def test_clock_reads_and_advances(client, keys):
    state = client.get("/_sandbox/clock").get_json()
    assert state["now"] == "2026-11-02T15:30:00.000Z"
    advanced = client.post("/_sandbox/clock/advance", json={"by": "1h30m"}, headers=auth(keys["admin"]))
    assert advanced.get_json()["now"] == "2026-11-02T17:00:00.000Z"
    bad = client.post("/_sandbox/clock/advance", json={"by": "soon"}, headers=auth(keys["admin"]))
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["fields"][0]["location"] == "body.by"


def test_advancing_the_clock_completes_a_pending_claim(client, keys):
    claim = client.post(
        "/api/v1/claims",
        json={
            "loss_type": "water",
            "job_external_ref": "jn_100200",
            "source": {"vendor": "companycam", "project_id": "cc_proj_1"},
        },
        headers=auth(keys["write"]),
    ).get_json()
    assert claim["status"] == "extracting"
    client.post("/_sandbox/clock/advance", json={"by": "24h"}, headers=auth(keys["admin"]))
    detail = client.get(f"/api/v1/claims/{claim['id']}", headers=auth(keys["read"])).get_json()
    assert detail["status"] == "ready_for_review" and detail["rooms"]


def test_recording_url_is_served_until_it_expires(client, keys, sandbox):
    call = next(c for c in sandbox.store.scan("call", keys["org_id"]) if c.get("transcript"))
    detail = client.get(f"/api/v1/calls/{call['id']}", headers=auth(keys["read"])).get_json()
    url = urlsplit(detail["recording_url"])
    served = client.get(f"{url.path}?{url.query}")
    assert served.status_code == 200 and served.mimetype == "audio/wav" and served.data[:4] == b"RIFF"
    tampered = client.get(f"{url.path}?{url.query[:-1]}{'0' if url.query[-1] != '0' else '1'}")
    assert tampered.status_code == 403
    sandbox.clock.advance(timedelta(hours=1, seconds=1))
    assert client.get(f"{url.path}?{url.query}").status_code == 410


def test_events_list_the_organizations_emitted_events(client, keys):
    client.post("/api/v1/leads", json={"email": "evt@example.com"}, headers=auth(keys["write"]))
    events = client.get("/_sandbox/events", headers=auth(keys["read"])).get_json()["data"]
    assert events and events[0]["organization_id"] == keys["org_id"]
    assert {"lead.created", "audit.log.event"} <= {event["type"] for event in events}
    assert FROZEN_AT.isoformat()[:10] in events[0]["created_at"]


def test_the_key_listing_keeps_its_order_across_resets(client, keys):
    def listed() -> list[tuple[str, Any]]:
        return [(k["token"], k["parent_organization_id"]) for k in client.get("/_sandbox/keys").get_json()["data"]]

    before = listed()
    assert before[0][1] is None and all(parent is not None for _, parent in before[3:])  # network first
    client.post("/_sandbox/reset", json={}, headers=auth(keys["admin"]))
    assert listed() == before
    client.post("/_sandbox/reset", json={"scope": "world"}, headers=auth(keys["parent_admin"]))
    assert listed() == before


def test_a_created_organization_survives_its_own_reset_and_cannot_reset_the_world(client, keys, sandbox):
    created = client.post(
        "/api/v1/organizations", json={"name": "PuroClean of Marietta"}, headers=auth(keys["parent_admin"])
    ).get_json()
    admin = next(k["token"] for k in created["sandbox_keys"] if "admin" in k["scopes"])
    order = [k["token"] for k in client.get("/_sandbox/keys").get_json()["data"]]
    assert client.post("/api/v1/leads", json={"email": "new@example.com"}, headers=auth(admin)).status_code == 201
    refused = client.post("/_sandbox/reset", json={"scope": "world"}, headers=auth(admin))
    assert refused.status_code == 403
    assert client.post("/_sandbox/reset", json={}, headers=auth(admin)).get_json()["reset"] == "organization"
    assert client.get("/api/v1/organizations/me", headers=auth(admin)).get_json()["id"] == created["id"]
    assert client.get("/api/v1/leads", headers=auth(admin)).get_json()["data"] == []  # its data is gone
    assert client.post("/_sandbox/reset", json={"scope": "world"}, headers=auth(admin)).status_code == 403
    assert [k["token"] for k in client.get("/_sandbox/keys").get_json()["data"]] == order
