"""When a failed delivery is tried again: exponential backoff with jitter, or ``Retry-After``.

Attempt ``n + 1`` follows a failed attempt ``n`` after ``base_seconds * factor ** (n - 1)``
seconds, each delay scaled by a random factor in ``[1 - jitter, 1 + jitter]`` so receivers
that fail together do not get retried together. After ``max_attempts`` attempts the delivery
is ``failed``. The sandbox default (base 1 s, factor 2, 6 attempts) retries after about
1, 2, 4, 8 and 16 seconds: a production-shaped schedule compressed to seconds.

A 429 or 503 with ``Retry-After`` (seconds or an HTTP date) waits that long instead, capped
at ``max_delay_seconds`` so one receiver cannot park a delivery indefinitely.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetrySchedule:
    """How many attempts a delivery gets and how long to wait between them."""

    base_seconds: float = 1.0
    factor: float = 2.0
    max_attempts: int = 6
    jitter: float = 0.2
    max_delay_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_seconds < 0 or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError(f"invalid retry schedule: {self}")

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_seconds)
        nominal = self.base_seconds * self.factor ** (attempt - 1)
        spread = rng.uniform(1 - self.jitter, 1 + self.jitter)
        return min(nominal * spread, self.max_delay_seconds)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for, or None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)
