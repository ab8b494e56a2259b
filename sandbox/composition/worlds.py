"""The seeded worlds a process builds: one per (seed, leads per organization, anchor), frozen and
shared by every sandbox of that seed it serves (each sandbox keeps only what it changed)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta

from ..base.clock import Clock
from ..base.errors import QuotaExceeded
from ..base.ids import IdFactory
from ..base.overlay import SeededBase
from ..base.settings import Settings
from ..base.store import MemoryStore
from ..services.world import WorldInfo, build_world


def world_anchor(settings: Settings) -> datetime:
    """The instant the seeded world is anchored on: the hour the process (or its clock) started, so
    sandboxes made in one process, and two processes started in the same hour, agree."""
    now = Clock.make(settings.CLOCK_START, frozen=True).now()
    anchor = now.replace(minute=0, second=0, microsecond=0)
    return anchor - timedelta(seconds=1) if anchor == now else anchor


@dataclasses.dataclass(frozen=True, eq=False)
class SeededWorld:
    """A seed's world built once: its frozen records and what names them."""

    base: SeededBase
    info: WorldInfo


class SeededWorlds:
    """One ``SeededWorld`` per (seed, leads per organization, anchor), kept while a sandbox uses it."""

    def __init__(self, most: int = 32) -> None:
        self.most = most
        self._lock = threading.Lock()
        self._built: dict[tuple[int, int, datetime], SeededWorld] = {}
        self._users: dict[tuple[int, int, datetime], int] = {}

    def acquire(self, seed: int, leads_per_org: int, anchor: datetime) -> SeededWorld:
        """The world of that seed and size (built on first use); ``release`` it when done."""
        key = (seed, leads_per_org, anchor)
        with self._lock:  # one build at a time: two sandboxes of a new seed share the first build
            world = self._built.get(key)
            if world is None:
                if len(self._built) >= self.most:
                    raise QuotaExceeded(
                        "seeded_worlds",
                        self.most,
                        "this server holds that many distinct (seed, leads_per_org) worlds already; "
                        "mint the sandbox with a seed and size already in use (the defaults are), "
                        "or wait until sandboxes of other seeds expire",
                    )
                store = MemoryStore()
                info = build_world(
                    store, seed=seed, anchor=anchor, ids=IdFactory.seeded(seed), leads_per_org=leads_per_org
                )
                world = self._built[key] = SeededWorld(SeededBase(store), info)
            self._users[key] = self._users.get(key, 0) + 1
        return world

    def release(self, seed: int, leads_per_org: int, anchor: datetime) -> None:
        """One sandbox of that world is gone from this process; the last one takes the world with it."""
        key = (seed, leads_per_org, anchor)
        with self._lock:
            users = self._users.get(key, 0) - 1
            if users > 0:
                self._users[key] = users
            else:
                self._users.pop(key, None)
                self._built.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._built)
