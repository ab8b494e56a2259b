"""Build worlds the way the app does and read them back (imported by the world tests)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.base.ids import IdFactory
from sandbox.base.store import MemoryStore
from sandbox.services.world import RECORD_KINDS as KINDS
from sandbox.services.world import WorldInfo, build_world

ANCHOR = datetime(2026, 4, 27, 19, 0, tzinfo=UTC)
SEED = 42


@dataclass
class Seeded:
    store: MemoryStore
    info: WorldInfo

    def records(self, kind: str, org_id: str | None = None) -> list[dict[str, Any]]:
        return list(self.store.scan(kind, org_id))


def seed_world(seed: int = SEED, anchor: datetime = ANCHOR, leads_per_org: int = 300) -> Seeded:
    """Build a fresh world the way the app does: ids seeded from the same seed."""
    store = MemoryStore()
    info = build_world(store, seed=seed, anchor=anchor, ids=IdFactory(random.Random(seed)), leads_per_org=leads_per_org)
    return Seeded(store, info)


def dump(seeded: Seeded) -> str:
    """Every record of every kind as one canonical JSON text."""
    return json.dumps({kind: seeded.records(kind) for kind in KINDS}, sort_keys=True)
