"""The world builds at ten thousand leads per location."""

from __future__ import annotations

import time

from world_fixtures import seed_world


def test_ten_thousand_leads_per_location_build_quickly() -> None:
    started = time.perf_counter()
    seeded = seed_world(leads_per_org=10_000)
    elapsed = time.perf_counter() - started
    for org_id in seeded.info.child_org_ids:
        assert seeded.store.count("lead", org_id) == 10_000
    page, cursor = seeded.store.page("lead", seeded.info.child_org_ids[0], limit=200)
    assert len(page) == 200 and cursor is not None
    assert elapsed < 20  # a few seconds in practice; generous for slow CI machines
