"""Rate limits: fixed windows on the sandbox clock. The default limit counts every request of one
sandbox together (not per key: minting organizations, and so keys, does not multiply it); a
scenario's limit replaces it, per key, for its organization's keys while it is in force.

Windows are measured on the sandbox clock, so ``clock advance 60s`` opens the next one. The reset
instant a client is told (``X-RateLimit-Reset``) is wall-clock unix seconds — now plus what is left
of the window — because a client compares it with its own clock, like ``X-EAL-Timestamp``.
Control operations (``/_sandbox/…``) always count against the default limit, so a scenario's low
limit never locks a partner out of stopping it or advancing the clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..base.clock import Clock
from ..base.errors import rate_limited
from ..base.state import Spend, State

REMEMBERED_TOKENS = 1024  # tokens whose last counter is remembered (``likely_spends``)


@dataclass(frozen=True, slots=True)
class Window:
    """A limit of ``limit`` requests per ``seconds``."""

    limit: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    remaining: int
    reset_in: float  # seconds of sandbox time until the window ends

    @property
    def reset_at(self) -> int:
        """Wall-clock unix seconds when the window ends, rounded up; a millisecond of slack absorbs
        the time between reading the sandbox clock and the wall clock, so on a real-time clock this
        is the window's end itself, not the second after it."""
        return math.ceil(time.time() + self.reset_in - 0.001)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


class RateLimiter:
    """``window.limit`` requests per counter per ``window.seconds``, windows on the sandbox clock.

    Counts live in the sandbox's ``State`` (one counter per window, expiring after it), so every
    process of a fleet counts against the same windows. ``generation`` names a set of counters that
    ``clear`` retires at once.
    """

    def __init__(
        self,
        state: State,
        clock: Clock,
        window: Window,
        *,
        name: str = "rl",
        generation: Callable[[], int] | None = None,
    ) -> None:
        self.state, self.clock, self.window, self.name = state, clock, window, name
        self._generation = generation or (lambda: 0)

    def _key(self, counter: str, start: int) -> str:
        return f"{self.name}:{self._generation()}:{counter}:{self.window.seconds}:{start}"

    def _now(self) -> tuple[float, int]:
        now = self.clock.now().timestamp()
        return now, int(now // self.window.seconds) * self.window.seconds

    def peek(self, counter: str) -> Quota:
        """The quota left without spending any."""
        now, start = self._now()
        used = int(self.state.get(self._key(counter, start)) or 0)
        return self._quota(max(0, self.window.limit - used), start + self.window.seconds - now)

    def hit(
        self,
        counter: str,
        details: Mapping[str, Any] | None = None,
        *,
        spending: Callable[[str, float], None] | None = None,
    ) -> Quota:
        """Spend one request; raise 429 with ``Retry-After`` when none is left. ``spending`` is told the
        counter's name and ttl first."""
        now, start = self._now()
        reset_in = start + self.window.seconds - now
        name, ttl = self._key(counter, start), self.window.seconds * 2 + 1
        if spending is not None:
            spending(name, ttl)
        used = self.state.incr(name, ttl=ttl)
        if used > self.window.limit:
            retry_after = max(1, math.ceil(reset_in))
            limit, seconds = self.window.limit, self.window.seconds
            raise rate_limited(
                f"Rate limit of {limit} requests per {seconds}s exceeded "
                f"{'for this key' if details else 'for this sandbox (all its keys together)'}; "
                f"retry after {retry_after}s",
                limit=limit,
                window_seconds=seconds,
                retry_after=retry_after,
                reset_at=self._quota(0, reset_in).reset_at,
                details=dict(details or {}),
            )
        return self._quota(self.window.limit - used, reset_in)

    def _quota(self, remaining: int, reset_in: float) -> Quota:
        return Quota(self.window.limit, remaining, reset_in)


class RequestLimits:
    """The limiter each request counts against: its organization's scenario's, else the sandbox's."""

    def __init__(
        self,
        state: State,
        clock: Clock,
        default: Window,
        scenario_window: Callable[[str], tuple[str, Window] | None],
        *,
        sandbox_id: str = "sandbox",
    ) -> None:
        """``scenario_window(org_id)`` names the scenario in force and its window, or None."""
        self.state, self.clock, self.sandbox_id = state, clock, sandbox_id
        self.default = RateLimiter(state, clock, default, generation=lambda: int(state.get("rl-generation") or 0))
        self._scenario_window = scenario_window
        self._last_spent: dict[str, Spend] = {}  # token -> the counter its last request spent on

    def hit(self, key: Mapping[str, Any], *, control: bool = False) -> Quota:
        """Spend one request of ``key``; 429 when its window is used up."""
        limiter, details = self._for(key, control)
        if not self.state.remote:  # nothing to count ahead (``likely_spends``)
            return limiter.hit(self._counter(limiter, key), details)
        token = str(key.get("token"))
        return limiter.hit(
            self._counter(limiter, key), details, spending=lambda name, ttl: self._remember(token, (name, ttl))
        )

    def likely_spends(self, token: str) -> list[Spend]:
        """The counter a request with ``token`` will most likely spend on: the one its last request in
        this process did (the same window, generation and limit until one of them changes). A fleet
        counts it in the request's first round trip (``State.prefetched``); a wrong guess is given back."""
        last = self._last_spent.get(token)
        return [] if last is None else [last]

    def _remember(self, token: str, spend: Spend) -> None:
        if len(self._last_spent) >= REMEMBERED_TOKENS and token not in self._last_spent:
            self._last_spent.clear()
        self._last_spent[token] = spend

    def peek(self, key: Mapping[str, Any]) -> Quota:
        limiter = self._for(key, False)[0]
        return limiter.peek(self._counter(limiter, key))

    def _counter(self, limiter: RateLimiter, key: Mapping[str, Any]) -> str:
        """The sandbox's one counter for the default limit; a scenario's limit counts each key."""
        return self.sandbox_id if limiter is self.default else str(key["id"])

    def forget(self, org_id: str | None) -> None:
        """Retire a stopped scenario's counters (all if None), so a restart starts a fresh window."""
        if org_id is None:
            self.state.incr("rl-generation")
        else:
            self.state.hincr("rl-scenario-generation", org_id)

    def clear(self) -> None:
        """Every window starts afresh (a whole-sandbox reset)."""
        self.state.incr("rl-generation")

    def _for(self, key: Mapping[str, Any], control: bool) -> tuple[RateLimiter, dict[str, Any]]:
        if control:
            return self.default, {}
        org_id = str(key["organization_id"])
        found = self._scenario_window(org_id)
        if found is None:
            return self.default, {}
        scenario, window = found
        generation = self.state.get("rl-generation") or 0
        per_org = self.state.hget("rl-scenario-generation", org_id) or 0
        limiter = RateLimiter(self.state, self.clock, window, name=f"rl-scenario:{org_id}:{generation}.{per_org}")
        return limiter, {"scenario": scenario}
