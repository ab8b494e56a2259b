"""What every builder shares: the seeded Random, the id factory, name pools and the anchor."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ...base.clock import utc
from ...base.ids import IdFactory
from .pools import Pools

LOCAL_ZONE = ZoneInfo("America/New_York")
DAY_SECONDS = 86_400
# Calls and forms arrive mostly in the working day, rarely at night (local hours 0–23).
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 10, 9, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1)
T = TypeVar("T")


class Weights:
    """Keys with relative weights, drawn in proportion with a single uniform number."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.keys: tuple[str, ...] = tuple(weights)
        self.cumulative: list[float] = list(itertools.accumulate(weights.values()))
        self.total: float = self.cumulative[-1]

    def draw(self, rng: random.Random) -> str:
        """A key, chosen like ``rng.choices(keys, weights)`` but without rebuilding the table."""
        return self.keys[bisect.bisect(self.cumulative, rng.random() * self.total)]


@dataclass
class Location:
    """One organization being seeded: its record, territory and API keys."""

    organization: dict[str, Any]
    area: dict[str, Any]
    keys: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return str(self.organization["id"])

    @property
    def name(self) -> str:
        return str(self.organization["name"])

    def key_id(self, scope: str) -> str:
        """The id of this location's key whose strongest scope is ``scope``."""
        return str(next(key["id"] for key in self.keys if key["scopes"][-1] == scope))

    def cities(self) -> list[str]:
        return list(self.area["cities"])


@dataclass
class Seeding:
    """Seeded sources of randomness, ids and time for one world build."""

    rng: random.Random
    ids: IdFactory
    pools: Pools
    anchor: datetime

    def __post_init__(self) -> None:
        self.anchor = utc(self.anchor)

    def pick(self, weights: Weights | Mapping[str, float]) -> str:
        """A key of ``weights``, drawn in proportion to its weight."""
        table = weights if isinstance(weights, Weights) else Weights(weights)
        return table.draw(self.rng)

    def sample(self, items: Sequence[T], count: int) -> list[T]:
        return self.rng.sample(list(items), min(count, len(items)))

    def ago(self, low_days: float, high_days: float) -> datetime:
        """An instant between ``high_days`` and ``low_days`` before the anchor."""
        seconds = self.rng.uniform(low_days * DAY_SECONDS, high_days * DAY_SECONDS)
        return self.anchor - timedelta(seconds=round(seconds, 3))

    def after(self, start: datetime, low_seconds: float, high_seconds: float) -> datetime:
        """An instant after ``start``; if that would pass the anchor, one between the two."""
        later = start + timedelta(seconds=round(self.rng.uniform(low_seconds, high_seconds), 3))
        if later <= self.anchor:
            return later
        room = max(0.0, (self.anchor - start).total_seconds())
        return min(start + timedelta(seconds=round(room * self.rng.random(), 3)), self.anchor)

    def working_hours_ago(self, low_days: int, high_days: int) -> datetime:
        """A local-time instant ``low_days``–``high_days`` days back, weighted to the working day."""
        local_anchor = self.anchor.astimezone(LOCAL_ZONE)
        day = local_anchor.date() - timedelta(days=self.rng.randint(low_days, high_days))
        hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        local = datetime(
            day.year,
            day.month,
            day.day,
            hour,
            self.rng.randrange(60),
            self.rng.randrange(60),
            self.rng.randrange(1000) * 1000,
            tzinfo=LOCAL_ZONE,
        )
        instant = utc(local)
        return instant if instant <= self.anchor else instant - timedelta(days=1)


def local_hour(instant: datetime) -> tuple[int, int]:
    """The weekday (0 = Monday) and hour of ``instant`` in the franchises' time zone."""
    local = instant.astimezone(LOCAL_ZONE)
    return local.weekday(), local.hour
