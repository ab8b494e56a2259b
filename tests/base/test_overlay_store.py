"""The overlay store behaves exactly like a plain store holding the same records.

A ``SeededBase`` is frozen from a small world; hypothesis then drives the same random sequence of
inserts, updates, deletes and resets through an overlay over that base and through a ``MemoryStore``
copy of it, and every read — get, count, scan, every page with and without a filter — must agree.
Two overlays over one base never see each other's changes. Each test runs against both overlays:
the memory ``OverlayStore`` and the fleet's ``RedisOverlayStore`` (a real Redis; tests/base/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.base.overlay import SeededBase
from sandbox.base.store import MemoryStore

Overlays = Callable[[SeededBase], Any]  # the overlay_factory fixture: a new, empty overlay over a base

ORGS = ("org_a", "org_b")
KINDS = ("lead", "call")


def record(kind: str, number: int, org: str, stamp: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{kind}_{number:04d}",
        "organization_id": org,
        "created_at": f"2026-01-01T00:{stamp:02d}:00.000Z",
        "stage": "new",
        **fields,
    }


def seeded() -> MemoryStore:
    store = MemoryStore()
    for kind in KINDS:
        for number in range(24):
            store.insert(kind, record(kind, number, ORGS[number % 2], number % 7))
    return store


BASE = SeededBase(seeded())

operation = st.one_of(
    st.tuples(st.just("insert"), st.sampled_from(KINDS), st.integers(0, 40), st.sampled_from(ORGS), st.integers(0, 9)),
    st.tuples(st.just("update"), st.sampled_from(KINDS), st.integers(0, 40), st.sampled_from(("won", "lost"))),
    st.tuples(st.just("delete"), st.sampled_from(KINDS), st.integers(0, 40)),
    st.tuples(st.just("reset"), st.sampled_from((None, *ORGS))),
)


def apply(store: Any, step: tuple[Any, ...], reset_to: Any) -> Any:
    """Apply one step; a plain store is reset by rebuilding it (an overlay drops its changes)."""
    name, *args = step
    if name == "insert":
        kind, number, org, stamp = args
        made = record(kind, number, org, stamp)
        seeded_as = BASE.by_id[kind].get(made["id"])
        if seeded_as is not None and seeded_as != made:
            return store  # a seeded id is never reused for another record (the overlay refuses it)
        try:
            store.insert(kind, made)
        except KeyError:
            pass
    elif name == "update":
        kind, number, stage = args
        store.update(kind, None, f"{kind}_{number:04d}", {"stage": stage})
    elif name == "delete":
        kind, number = args
        store.delete(kind, None, f"{kind}_{number:04d}")
    elif isinstance(store, MemoryStore):
        return reset_to(store, args[0])
    else:
        store.reset(args[0])
    return store


def reset_plain(store: MemoryStore, org: str | None) -> MemoryStore:
    """What a reset means: the organization's (or every) record back to the seed, others untouched."""
    fresh = MemoryStore()
    for kind in KINDS:
        for kept in store.scan(kind):
            if org is not None and kept["organization_id"] != org:
                fresh.insert(kind, kept)
        for original in BASE.by_id[kind].values():
            if org is None or original["organization_id"] == org:
                fresh.insert(kind, original)
    return fresh


def agree(overlay: Any, plain: MemoryStore) -> None:
    for kind in KINDS:
        assert list(overlay.scan(kind)) == list(plain.scan(kind))
        assert overlay.count(kind) == plain.count(kind)
        assert overlay.added(kind) == sum(1 for r in plain.scan(kind) if r["id"] not in BASE.by_id[kind])
        for org in ORGS:
            assert list(overlay.scan(kind, org)) == list(plain.scan(kind, org))
            assert overlay.count(kind, org) == plain.count(kind, org)
            for where in (None, lambda r: r["stage"] != "new"):
                after = None
                while True:
                    mine = overlay.page(kind, org, where=where, after=after, limit=5)
                    theirs = plain.page(kind, org, where=where, after=after, limit=5)
                    assert mine == theirs
                    after = mine[1]
                    if after is None:
                        break
        for number in range(41):
            record_id = f"{kind}_{number:04d}"
            assert overlay.get(kind, None, record_id) == plain.get(kind, None, record_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=40))
def test_an_overlay_reads_like_a_plain_store_with_the_same_writes(
    overlay_factory: Overlays, steps: list[tuple[Any, ...]]
) -> None:
    overlay, plain = overlay_factory(BASE), seeded()
    for step in steps:
        overlay = apply(overlay, step, reset_plain)
        plain = apply(plain, step, reset_plain)
    agree(overlay, plain)


def test_overlays_over_one_base_are_isolated_and_the_base_never_changes(overlay_factory: Overlays) -> None:
    before = {kind: dict(table) for kind, table in BASE.by_id.items()}
    first, second = overlay_factory(BASE), overlay_factory(BASE)
    first.update("lead", "org_a", "lead_0000", {"stage": "won"})
    first.delete("lead", None, "lead_0001")
    first.insert("lead", record("lead", 99, "org_a", 9))
    assert second.get("lead", None, "lead_0000")["stage"] == "new"
    assert second.get("lead", None, "lead_0001") is not None and second.get("lead", None, "lead_0099") is None
    assert BASE.by_id == before and first.changed == 3 and second.changed == 0
    first.reset()
    assert first.changed == 0 and first.get("lead", None, "lead_0000")["stage"] == "new"


def test_a_records_position_and_owner_never_change(overlay_factory: Overlays) -> None:
    overlay = overlay_factory(BASE)
    with pytest.raises(ValueError):
        overlay.update("lead", None, "lead_0000", {"organization_id": "org_b"})
    with pytest.raises(KeyError):
        overlay.insert("lead", record("lead", 0, "org_a", 0))
    overlay.delete("lead", None, "lead_0002")
    with pytest.raises(KeyError, match="seeded record's id"):
        overlay.insert("lead", record("lead", 2, "org_b", 3))
