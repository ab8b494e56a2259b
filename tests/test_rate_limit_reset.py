"""X-RateLimit-Reset is wall-clock unix seconds, while the window itself follows the sandbox clock."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.base.clock import Clock
from sandbox.base.errors import RateLimited
from sandbox.base.memory_state import MemoryState
from sandbox.services.limits import RateLimiter, Window
from sandbox.web.app import sandbox_of
from tests.support import auth, make_app


def bounds(before: float, after: float, left: float) -> tuple[int, int]:
    """The X-RateLimit-Reset a request made between ``before`` and ``after`` may carry."""
    return math.ceil(before + left) - 1, math.ceil(after + left)


def test_on_a_real_time_clock_reset_is_the_window_end_itself() -> None:
    limiter = RateLimiter(MemoryState(), Clock.make(), Window(limit=5, seconds=60))
    quotas = [limiter.hit("key") for _ in range(3)]
    assert all(q.reset_at % 60 == 0 and 0 < q.reset_at - time.time() <= 60 for q in quotas)


def test_after_advancing_a_day_reset_still_reads_against_wall_time() -> None:
    clock = Clock.make(datetime(2026, 11, 2, 15, 30, tzinfo=UTC), frozen=True)  # the start of a window
    limiter = RateLimiter(MemoryState(), clock, Window(limit=1, seconds=60))
    clock.advance(timedelta(hours=24, seconds=15))  # 45 s left in the sandbox-clock window
    before = time.time()
    quota = limiter.hit("key")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("key")
    after = time.time()
    low, high = bounds(before, after, 45)
    assert low <= quota.reset_at <= high
    assert low <= int(refused.value.headers["X-RateLimit-Reset"]) <= high
    assert refused.value.headers["Retry-After"] == "45"
    clock.advance(timedelta(seconds=45))  # the next window opens on the sandbox clock
    assert limiter.hit("key").remaining == 0


def test_http_answers_carry_the_wall_clock_reset_after_a_clock_advance() -> None:
    app = make_app(RATE_LIMIT=2)
    sandbox = sandbox_of(app)
    try:
        client = app.test_client()
        token = sandbox.world.keys[0]["token"]
        sandbox.clock.advance(timedelta(hours=24))
        before = time.time()
        answers = [client.get("/api/v1/health", headers=auth(token)) for _ in range(3)]
        after = time.time()
        assert [r.status_code for r in answers] == [200, 200, 429]
        low, high = bounds(before, after, 60)  # the frozen test clock sits at a window's start
        assert all(low <= int(r.headers["X-RateLimit-Reset"]) <= high for r in answers)
        sandbox.clock.advance(timedelta(seconds=60))
        assert client.get("/api/v1/health", headers=auth(token)).status_code == 200
    finally:
        sandbox.close()
