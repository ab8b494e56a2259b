"""A world built once per session at a fixed anchor."""

from __future__ import annotations

import pytest
from world_fixtures import Seeded, seed_world


@pytest.fixture(scope="session")
def seeded() -> Seeded:
    return seed_world()
