"""The world builds at ten thousand leads per location (its build time is in tests/benchmarks/bench_seed.py)."""

from __future__ import annotations

from tests.world.seeded import seed_world


def test_ten_thousand_leads_per_location_build_and_page() -> None:
    seeded = seed_world(leads_per_org=10_000)
    for org_id in seeded.info.child_org_ids:
        assert seeded.store.count("lead", org_id) == 10_000
    page, cursor = seeded.store.page("lead", seeded.info.child_org_ids[0], limit=200)
    assert len(page) == 200 and cursor is not None
