"""Per-tenant rate limits for scenarios, in front of the app's own limiter.

The router calls ``sandbox.limiter.hit(key_id)`` for every keyed request. ``TenantLimiter`` takes
that place: when a scenario with a ``rate_limit`` is in force for the key's organization, the
key is counted by a limiter with the scenario's limit and window (same fixed windows on the
sandbox clock, same 429 with ``Retry-After`` and ``X-RateLimit-*``); otherwise by the default
one. Control endpoints (``/_sandbox/…``) always use the default limiter, so a scenario's low
limit never locks you out of stopping it or advancing the clock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..ratelimit import Quota, RateLimiter

if TYPE_CHECKING:
    from ..runtime import Sandbox


class TenantLimiter:
    """The default limiter, plus one per organization whose scenario sets a rate limit."""

    def __init__(self, sandbox: Sandbox, default: RateLimiter) -> None:
        self.sandbox, self.default = sandbox, default
        self._lock = threading.Lock()
        self._scenario_limiters: dict[tuple[str, int, int], RateLimiter] = {}

    # The RateLimiter surface the rest of the app uses ------------------------------------------

    @property
    def limit(self) -> int:
        return self.default.limit

    @property
    def window(self) -> int:
        return self.default.window

    @property
    def clock(self) -> Any:
        return self.default.clock

    def configure(self, limit: int | None = None, window: int | None = None) -> None:
        self.default.configure(limit, window)
        with self._lock:
            self._scenario_limiters.clear()

    def hit(self, key_id: str) -> Quota:
        return self._for(key_id).hit(key_id)

    def peek(self, key_id: str) -> Quota:
        return self._for(key_id).peek(key_id)

    # ----------------------------------------------------------------------------------------

    def forget(self, org_id: str | None) -> None:
        """Drop the counters of a stopped scenario, so a restart starts a fresh window."""
        with self._lock:
            for key in [key for key in self._scenario_limiters if org_id is None or key[0] == org_id]:
                del self._scenario_limiters[key]

    def _for(self, key_id: str) -> RateLimiter:
        if self.sandbox.behaviour.idle or _is_control_request():
            return self.default
        org_id = self._org_of(key_id)
        rule = self.sandbox.behaviour.rate_limit_for(org_id)
        if rule is None or org_id is None:
            return self.default
        slot = (org_id, rule.limit, rule.window)
        with self._lock:
            limiter = self._scenario_limiters.get(slot)
            if limiter is None:
                limiter = self._scenario_limiters[slot] = RateLimiter(
                    self.default.clock, rule.limit, rule.window
                )
        return limiter

    def _org_of(self, key_id: str) -> str | None:
        for key in self.sandbox.keys:
            if key["id"] == key_id:
                return str(key["organization_id"])
        return None


def _is_control_request() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.path.startswith("/_sandbox/")
