"""Same seed, same world: two apps answer byte for byte alike; a different seed does not.

Run-time writes are compared with ``REPRODUCIBLE_IDS`` on (the opt-in for snapshot tests); signed
URLs carry their sandbox's id and a signature under its own random key, so those two query values
are masked, as a partner's snapshot test masks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from sandbox.web.app import sandbox_of
from tests.support import auth, make_app

SMALL_WORLD = {"LEADS_PER_ORG": 60, "REPRODUCIBLE_IDS": True}
SIGNED = re.compile(rb"sandbox=sbx_[a-z0-9]+&exp=(\d+)&sig=[0-9a-f]+")
READS = [
    "/leads",
    "/leads?limit=7&pipeline_stage=won",
    "/calls",
    "/calls?classification=water",
    "/calls/stats",
    "/calls/stats?window=30d",
    "/claims",
    "/content",
    "/content?type=blog",
    "/prospects",
    "/outreach/sequences",
    "/outreach/suppressions",
    "/audit-log",
    "/audit-log?action=lead.updated",
    "/organizations/me",
]


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, Flask]]:
    """Two apps of the default seed and one of another seed, all with a small world."""
    built = {
        "first": make_app(**SMALL_WORLD),
        "second": make_app(**SMALL_WORLD),
        "other_seed": make_app(**SMALL_WORLD, SEED=8),
    }
    yield built
    for app in built.values():
        app.extensions["eal_sandbox"].close()


@pytest.fixture(autouse=True)
def _reset(apps: dict[str, Flask]) -> Iterator[None]:
    yield
    for app in apps.values():
        sandbox_of(app).reset()


def tokens(app: Flask) -> dict[str, str]:
    """The first child's read/write/admin tokens and the parent's admin token."""
    world = sandbox_of(app).world
    child = world.child_org_ids[0]

    def token(org_id: str, scope: str) -> str:
        return next(k["token"] for k in world.keys if k["organization_id"] == org_id and k["scopes"][-1] == scope)

    return {
        "read": token(child, "read"),
        "write": token(child, "write"),
        "admin": token(child, "admin"),
        "parent_admin": token(world.parent_org_id, "admin"),
        "org_id": child,
        "parent_org_id": world.parent_org_id,
    }


class Recorder:
    """Sends requests as one key set and keeps every status and body, in order."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()
        self.tokens = tokens(app)
        self.bodies: list[tuple[str, int, bytes]] = []

    def send(self, method: str, path: str, role: str = "read", body: Any = None) -> Any:
        response = self.client.open(f"/api/v1{path}", method=method, json=body, headers=auth(self.tokens[role]))
        assert response.status_code < 300, (path, response.get_data(as_text=True)[:400])
        body = SIGNED.sub(rb"sandbox=SANDBOX&exp=\1&sig=SIGNATURE", response.get_data())
        self.bodies.append((f"{method} {path}", response.status_code, body))
        return response.get_json()


def read_everything(app: Flask) -> list[tuple[str, int, bytes]]:
    """GET every list, then one record of each kind the lists name."""
    recorder = Recorder(app)
    lists = {path: recorder.send("GET", path) for path in READS}
    recorder.send("GET", f"/leads/{lists['/leads']['data'][3]['id']}")
    recorder.send("GET", f"/calls/{lists['/calls']['data'][0]['id']}")
    recorder.send("GET", f"/claims/{lists['/claims']['data'][0]['id']}")
    recorder.send("GET", f"/audit-log/{lists['/audit-log']['data'][0]['id']}")
    recorder.send("GET", "/leads")
    assert recorder.bodies[-1][2] == recorder.bodies[0][2], "a repeated read answers the same"
    second_page = lists["/leads"]["next_cursor"]
    recorder.send("GET", f"/leads?cursor={second_page}")
    return recorder.bodies


def write_sequence(app: Flask) -> list[tuple[str, int, bytes]]:
    """Create, change and read back records; created ids come from the seeded generator."""
    recorder = Recorder(app)
    lead = recorder.send(
        "POST",
        "/leads",
        "write",
        {
            "name": "Sarah Mitchell",
            "email": "sarah@example.com",
            "phone": "+14045550173",
            "timeline": "emergency",
            "pain_points": "Burst pipe in the basement",
        },
    )
    recorder.send("PATCH", f"/leads/{lead['id']}", "write", {"pipeline_stage": "qualified", "lead_score": 61})
    recorder.send("POST", f"/leads/{lead['id']}/score", "write")
    recorder.send("POST", f"/leads/{lead['id']}/push-to-crm", "write")
    seeded = recorder.send("GET", "/leads?limit=5")["data"][-1]
    recorder.send("PATCH", f"/leads/{seeded['id']}", "write", {"pipeline_stage": "lost"})
    recorder.send("POST", f"/leads/{seeded['id']}/push-to-crm", "write")
    recorder.send(
        "POST",
        "/outreach/suppressions",
        "write",
        {"channel": "sms", "address": "+17705559999", "reason": "manual_owner_request"},
    )
    recorder.send(
        "POST",
        "/content/blog",
        "write",
        {
            "target_keyword": "mold removal roswell",
            "service_type": "mold_remediation",
            "service_area": {"city": "Roswell", "region": "GA", "postal_code": "30075"},
            "word_count_target": 900,
        },
    )
    recorder.send(
        "POST",
        "/claims",
        "write",
        {
            "loss_type": "water",
            "job_external_ref": "jn_117422",
            "source": {"vendor": "companycam", "project_id": "cc_proj_5482"},
        },
    )
    child = recorder.send("POST", "/organizations", "parent_admin", {"name": "PuroClean of West Cobb"})
    recorder.send(
        "PATCH",
        f"/organizations/{recorder.tokens['org_id']}",
        "admin",
        {"name": "Renamed", "settings": {"default_locale": "es-US"}},
    )
    recorder.send(
        "POST",
        f"/organizations/{recorder.tokens['org_id']}/grants",
        "admin",
        {"parent_organization_id": recorder.tokens["parent_org_id"], "scopes": ["leads.read"]},
    )
    recorder.send("GET", f"/leads/{lead['id']}")
    recorder.send("GET", "/leads?limit=3")
    recorder.send("GET", "/audit-log?limit=20")
    recorder.send("GET", "/organizations", "parent_admin")
    assert child["sandbox_keys"]
    return recorder.bodies


@pytest.mark.parametrize("sequence", [read_everything, write_sequence])
def test_same_seed_gives_byte_identical_bodies(apps, sequence):
    first, second = sequence(apps["first"]), sequence(apps["second"])
    assert len(first) == len(second) > 10
    for one, other in zip(first, second, strict=True):
        assert one == other, one[0]


def test_a_replayed_sequence_after_reset_is_identical(apps):
    first = write_sequence(apps["first"])
    sandbox_of(apps["first"]).reset()
    assert write_sequence(apps["first"]) == first


@pytest.mark.parametrize("sequence", [read_everything, write_sequence])
def test_a_different_seed_gives_a_different_world(apps, sequence):
    first, other = sequence(apps["first"]), sequence(apps["other_seed"])
    different = [one[0] for one, two in zip(first, other, strict=True) if one[2] != two[2]]
    assert len(different) >= len(first) - 2, f"only these differ: {different}"


def test_same_seed_gives_the_same_keys_and_organizations(apps):
    first, second, other = (sandbox_of(apps[name]).world for name in ("first", "second", "other_seed"))
    assert first.keys == second.keys and first.child_org_ids == second.child_org_ids
    assert first.parent_org_id != other.parent_org_id
