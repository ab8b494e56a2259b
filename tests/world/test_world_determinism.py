"""Same seed and anchor, same world; another seed, another world."""

from __future__ import annotations

from datetime import timedelta

from tests.world.seeded import ANCHOR, Seeded, dump, seed_world


def test_same_seed_builds_identical_world(seeded: Seeded) -> None:
    assert dump(seed_world()) == dump(seeded)


def test_same_seed_gives_same_keys(seeded: Seeded) -> None:
    again = seed_world()
    assert again.info == seeded.info


def test_different_seed_builds_different_world(seeded: Seeded) -> None:
    other = seed_world(seed=7)
    assert dump(other) != dump(seeded)
    assert other.info.parent_org_id != seeded.info.parent_org_id
    assert {k["token"] for k in other.info.keys}.isdisjoint(k["token"] for k in seeded.info.keys)


def test_later_anchor_moves_timestamps_only() -> None:
    early, late = (
        seed_world(leads_per_org=20),
        seed_world(anchor=ANCHOR + timedelta(days=1), leads_per_org=20),
    )
    assert early.info.child_org_ids == late.info.child_org_ids
    assert [key["token"] for key in early.info.keys] == [key["token"] for key in late.info.keys]
    assert early.records("lead")[0]["created_at"] != late.records("lead")[0]["created_at"]
