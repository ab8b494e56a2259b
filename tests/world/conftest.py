"""A world built once per session at a fixed anchor."""

from __future__ import annotations

import pytest

from tests.world.seeded import Seeded, seed_world


@pytest.fixture(scope="session")
def seeded() -> Seeded:
    return seed_world()
