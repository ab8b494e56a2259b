"""Per-key fixed-window rate limiting on the sandbox clock.

Windows are measured on the sandbox clock (so ``clock advance 60s`` opens the next one), but
``X-RateLimit-Reset`` is wall-clock unix seconds: now plus the seconds left in the window, which
a client compares with its own clock (as it does ``X-EAL-Timestamp``), even after the sandbox
clock was advanced by a day.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from .clock import Clock
from .errors import RateLimited


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    remaining: int
    reset_at: int  # wall-clock unix seconds when the window ends (see reset_at)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def reset_at(seconds_left: float) -> int:
    """Wall-clock unix seconds ``seconds_left`` from now, rounded up (a millisecond of slack keeps a
    real-time clock's window end, an integer, from rounding up to the next second)."""
    return math.ceil(time.time() + seconds_left - 0.001)


class RateLimiter:
    """``limit`` requests per key per ``window`` seconds; windows follow the app clock."""

    def __init__(self, clock: Clock, limit: int, window: int = 60) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}  # key id -> (window start, used)

    def configure(self, limit: int | None = None, window: int | None = None) -> None:
        with self._lock:
            self.limit = self.limit if limit is None else limit
            self.window = self.window if window is None else window
            self._counts.clear()

    def peek(self, key_id: str) -> Quota:
        """The quota left without spending any."""
        now = self.clock.now().timestamp()
        start = int(now // self.window) * self.window
        with self._lock:
            window_start, used = self._counts.get(key_id, (start, 0))
        used = used if window_start == start else 0
        return Quota(self.limit, max(0, self.limit - used), reset_at(start + self.window - now))

    def hit(self, key_id: str) -> Quota:
        """Spend one request; raise 429 with ``Retry-After`` when none is left."""
        now = self.clock.now().timestamp()
        start = int(now // self.window) * self.window
        with self._lock:
            window_start, used = self._counts.get(key_id, (start, 0))
            if window_start != start:
                used = 0
            left = start + self.window - now
            if used >= self.limit:
                quota = Quota(self.limit, 0, reset_at(left))
                retry_after = max(1, math.ceil(left))
                raise RateLimited(
                    f"Rate limit of {self.limit} requests per {self.window}s exceeded for this key; "
                    f"retry after {retry_after}s",
                    details={"limit": self.limit, "window_seconds": self.window,
                             "retry_after_seconds": retry_after},
                    headers={**quota.headers(), "Retry-After": str(retry_after)},
                )
            self._counts[key_id] = (start, used + 1)
        return Quota(self.limit, self.limit - used - 1, reset_at(left))
