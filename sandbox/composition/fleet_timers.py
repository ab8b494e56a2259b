"""The fleet's timers: every sandbox's due clock tasks fire once across the processes of a fleet.

Split from ``fleet`` (which builds the ticker with its Redis client); see ``FleetTicker``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from ..base.clock import Clock, Ticker
from .backends import Find

logger = logging.getLogger("sandbox.fleet")
FLEET_PREFIX = "fleet:{fleet}:"
POLL_SECONDS = 0.01  # how soon a process looks again after firing timers
IDLE_SECONDS = 0.1  # the longest it waits between looks: for a timer another process set
OUTAGE_RETRY = 1.0  # seconds between tries while Redis is unreachable
ForgetIfStill = Callable[[str, str, float, "float | None"], None]


class FleetTicker:
    """Fires every sandbox's due clock tasks across the fleet (``Watcher``).

    ``watch`` records, in ``fleet:{fleet}:timers``, the wall-clock instant a sandbox's next task falls
    due (only ever moving it earlier: a stale, early entry just makes a poll find nothing due). Every
    process polls the earliest entries, fires the due ones on a few threads, and moves each entry to
    the clock's next task — unless another process changed it meanwhile. Between polls it sleeps
    until the earliest entry falls due (at most ``IDLE_SECONDS``, so a timer set by another process is
    seen) and wakes at once when this process sets an earlier one: an idle fleet does not poll Redis
    a hundred times a second from every process (each poll also takes the GIL from the requests).
    Clocks that are not a sandbox's (the process's own, like the sweeper) go to a local ``Ticker``.
    """

    def __init__(self, client: Any, forget_if_still: ForgetIfStill, workers: int = 4) -> None:
        self.client, self._forget_if_still = client, forget_if_still
        self._local = Ticker()
        self._find: Find | None = None
        self._firing: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fleet-timers")
        self._stopped = threading.Event()
        self._wake = threading.Event()
        self._next_due = 0.0  # wall-clock instant of the earliest entry seen (0.0: look at once)
        self._thread = threading.Thread(target=self._run, name="fleet-ticker", daemon=True)

    def start(self, find: Find) -> None:
        self._find = find
        self._thread.start()

    def watch(self, clock: Clock) -> None:
        if not clock.name:
            self._local.watch(clock)
            return
        wait = clock.seconds_until_due()
        if wait is not None:
            due = time.time() + wait
            self.client.zadd(FLEET_PREFIX + "timers", {clock.name: due}, lt=True)
            if due < self._next_due:
                self._next_due = due
                self._wake.set()

    def forget(self, clock: Clock) -> None:
        if not clock.name:
            self._local.forget(clock)

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._local.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._thread.is_alive():  # before the client it polls with is closed
            self._thread.join(5)

    def _run(self) -> None:
        failing = False
        while not self._stopped.is_set():
            self._wake.clear()
            try:
                earliest = self.client.zrange(FLEET_PREFIX + "timers", 0, 31, withscores=True)
                failing = False
            except redis.RedisError as error:  # Redis unreachable: say so once, retry every second
                if not failing:
                    logger.warning("reading the fleet's timers failed (%s); retrying every %s s", error, OUTAGE_RETRY)
                failing, earliest = True, []
                self._stopped.wait(OUTAGE_RETRY)
            now = time.time()
            due = [(member, score) for member, score in earliest if score <= now]
            later = [score for _, score in earliest if score > now]
            self._next_due = later[0] if later else now + IDLE_SECONDS
            for member, score in due:
                sandbox_id = member.decode()
                with self._lock:
                    if sandbox_id in self._firing:
                        continue
                    self._firing.add(sandbox_id)
                try:
                    self._pool.submit(self._fire, sandbox_id, float(score))
                except RuntimeError:  # shut down
                    return
            self._wake.wait(POLL_SECONDS if due else min(IDLE_SECONDS, max(0.0, self._next_due - time.time())))

    def _fire(self, sandbox_id: str, score: float) -> None:
        try:
            assert self._find is not None
            sandbox = self._find(sandbox_id)
            if sandbox is None:  # deleted: nothing of it fires any more
                self._forget_if_still("timers", sandbox_id, score, None)
                return
            sandbox.clock.run_due()
            wait = sandbox.clock.seconds_until_due()
            self._forget_if_still("timers", sandbox_id, score, None if wait is None else time.time() + wait)
            self.watch(sandbox.clock)  # a task another process added meanwhile may be due sooner
        except Exception:
            logger.exception("firing the timers of sandbox %s failed", sandbox_id)
        finally:
            with self._lock:
                self._firing.discard(sandbox_id)
