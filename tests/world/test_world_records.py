"""Counts, id formats, tenancy and timestamps of every seeded kind."""

from __future__ import annotations

import re

import pytest

from sandbox.base.clock import isoformat, parse_iso
from sandbox.base.overlay import SeededBase
from tests.world.seeded import ANCHOR, KINDS, Seeded

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ID_FORMATS = {
    "organization": UUID,
    "grant": UUID,
    "lead": UUID,
    "prospect": UUID,
    "audit_event": UUID,
    "api_key": r"k[0-9a-f]{7}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    "content": r"ctnt_[a-z0-9]{10}",
    "sequence": r"seq_[a-z0-9]{8}",
    "suppression": r"sup_[a-z0-9]{6}",
    "call": r"call_[a-z0-9]{8}",
    "claim": r"clm_[a-z0-9]{6}",
}
# (low, high) per child location
CHILD_COUNTS = {
    "grant": (1, 1),
    "lead": (300, 300),
    "prospect": (36, 44),
    "content": (27, 33),
    "sequence": (4, 4),
    "suppression": (8, 12),
    "call": (245, 375),
    "claim": (13, 17),
    "audit_event": (40, 70),
    "api_key": (3, 3),
    "organization": (1, 1),
}
FUTURE_FIELDS = {"expires_at", "scheduled_for"}  # future by nature
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def timestamps(value: object, path: str = "") -> list[tuple[str, str]]:
    """Every (field, ISO string) pair anywhere inside a record."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for name, inner in value.items():
            found += timestamps(inner, name)
    elif isinstance(value, list):
        for inner in value:
            found += timestamps(inner, path)
    elif isinstance(value, str) and ISO.fullmatch(value):
        found.append((path, value))
    return found


@pytest.mark.parametrize("kind", sorted(CHILD_COUNTS))
def test_each_child_has_its_share(seeded: Seeded, kind: str) -> None:
    low, high = CHILD_COUNTS[kind]
    for org_id in seeded.info.child_org_ids:
        assert low <= seeded.store.count(kind, org_id) <= high


def test_one_parent_and_three_children(seeded: Seeded) -> None:
    organizations = {org["id"]: org for org in seeded.records("organization")}
    parent = organizations[seeded.info.parent_org_id]
    assert parent["parent_organization_id"] is None and len(seeded.info.child_org_ids) == 3
    for child_id in seeded.info.child_org_ids:
        child = organizations[child_id]
        assert child["parent_organization_id"] == parent["id"]
        assert child["name"].startswith("PuroClean of ") and child["industry"] == "restoration"
        assert child["service_area"]["region"] == "GA" and child["service_area"]["postal_codes"]
        assert child["settings"]["timezone"] == "America/New_York"
    assert 1 <= seeded.store.count("lead", parent["id"]) <= 10


def test_the_world_seeds_every_listed_kind_and_nothing_else(seeded: Seeded) -> None:
    assert set(SeededBase(seeded.store).by_id) == set(KINDS)
    assert all(seeded.store.count(kind) > 0 for kind in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_ids_follow_the_reference_formats(seeded: Seeded, kind: str) -> None:
    records = seeded.records(kind)
    assert records
    assert all(re.fullmatch(ID_FORMATS[kind], record["id"]) for record in records)
    assert len({record["id"] for record in records}) == len(records)


@pytest.mark.parametrize("kind", KINDS)
def test_every_record_belongs_to_a_seeded_organization(seeded: Seeded, kind: str) -> None:
    org_ids = {seeded.info.parent_org_id, *seeded.info.child_org_ids}
    assert all(record["organization_id"] in org_ids for record in seeded.records(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_timestamps_are_at_or_before_the_anchor(seeded: Seeded, kind: str) -> None:
    anchor = isoformat(ANCHOR)
    for record in seeded.records(kind):
        stamps = timestamps(record)
        assert ("created_at", record["created_at"]) in stamps
        assert all(stamp <= anchor for field, stamp in stamps if field not in FUTURE_FIELDS), record["id"]


def test_most_activity_is_in_the_last_ninety_days(seeded: Seeded) -> None:
    for kind in ("lead", "call"):
        ages = [(ANCHOR - parse_iso(r["created_at"])).days for r in seeded.records(kind)]
        assert sum(age < 90 for age in ages) / len(ages) > 0.8


def test_keys_are_listed_parent_first_read_write_admin(seeded: Seeded) -> None:
    keys = seeded.info.keys
    assert [key["organization_id"] for key in keys[:3]] == [seeded.info.parent_org_id] * 3
    assert [key["scopes"] for key in keys[:3]] == [["read"], ["read", "write"], ["read", "write", "admin"]]
    assert all(re.fullmatch(r"eal_test_[a-z0-9]{32}", key["token"]) for key in keys)
    assert keys == sorted(seeded.records("api_key"), key=keys.index)


def test_grants_are_live_for_a_year(seeded: Seeded) -> None:
    for grant in seeded.records("grant"):
        assert grant["grant_id"] == grant["id"]
        assert grant["scopes"] == ["leads.read", "calls.read", "audit_log.read"]
        assert grant["expires_at"] > isoformat(ANCHOR)
        assert (parse_iso(grant["expires_at"]) - parse_iso(grant["created_at"])).days == 365
