"""The clock every timestamp, TTL, expiry and "ready at" of one sandbox comes from.

A ``Clock`` runs in real time by default. It can be frozen at an instant or shifted
(``advance``), which makes it a virtual clock: tasks scheduled with ``call_at`` fire in
time order as soon as they are due — on ``advance`` synchronously, otherwise from the process's
``Ticker``, one thread that fires the due tasks of every sandbox's clock in real time.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

logger = logging.getLogger("sandbox.clock")
# No sandbox clock goes past this instant: far beyond any test, and far enough from the calendar's end
# (9999-12-31) that every "now + a year" a handler computes still fits.
HORIZON = datetime(3000, 1, 1, tzinfo=UTC)


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def isoformat(dt: datetime) -> str:
    """Format like the seeds: ``2026-04-27T13:22:05.114Z`` (milliseconds, Z)."""
    if dt.tzinfo is not UTC:
        dt = utc(dt)
    return dt.isoformat(timespec="milliseconds")[:-6] + "Z"  # drop "+00:00"


def parse_iso(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or offset) into aware UTC."""
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


@dataclass(order=True)
class _Task:
    due: datetime
    order: int
    action: Callable[[], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """Real time plus an offset, optionally frozen; schedules callbacks at instants."""

    def __init__(self, start: datetime | None = None, frozen: bool = False, ticker: Ticker | None = None) -> None:
        self._offset = timedelta(0) if start is None else utc(start) - self._real_now()
        self._frozen_at: datetime | None = utc(start) if (frozen and start) else None
        if frozen and start is None:
            self._frozen_at = self._real_now()
        self._initial = (self._offset, self._frozen_at)
        self._tasks: list[_Task] = []
        self._order = itertools.count()
        self._lock = threading.RLock()
        self._firing = threading.Lock()
        self._ticker = ticker
        self._stopped = False

    @staticmethod
    def _real_now() -> datetime:
        return datetime.now(UTC)

    @property
    def is_virtual(self) -> bool:
        return self._frozen_at is not None or self._offset != timedelta(0)

    def now(self) -> datetime:
        """The current instant on this clock (aware UTC)."""
        if self._frozen_at is not None:
            return self._frozen_at
        return self._real_now() + self._offset

    def call_at(self, due: datetime, action: Callable[[], object]) -> _Task:
        """Run ``action`` once the clock reaches ``due`` (what it returns is ignored); returns a
        cancellable handle."""
        task = _Task(utc(due), next(self._order), action)
        with self._lock:
            if self._stopped:
                task.cancel()
                return task
            heapq.heappush(self._tasks, task)
        if self._ticker is not None:
            self._ticker.watch(self)
        return task

    def advance(self, delta: timedelta) -> list[datetime]:
        """Move the clock forward, firing every task due on the way, in time order.

        Each task runs with the clock set to its own due time, so what it stamps is
        what it would have stamped in real time. Returns the due times that fired.
        """
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        if delta > HORIZON - self.now():
            raise ValueError(f"the clock never passes {HORIZON.isoformat()} (it is {self.now().isoformat()})")
        target = self.now() + delta
        fired: list[datetime] = []
        with self._firing:
            while (task := self._pop_due(target)) is not None:
                self._set_now(max(task.due, self.now()))
                fired.append(task.due)
                self._run(task)
            self._set_now(target)
        if self._ticker is not None:
            self._ticker.watch(self)  # what is left may now fall due sooner in real time
        return fired

    def _set_now(self, instant: datetime) -> None:
        if self._frozen_at is not None:
            self._frozen_at = instant
        else:
            self._offset = instant - self._real_now()

    def _pop_due(self, limit: datetime) -> _Task | None:
        with self._lock:
            while self._tasks and self._tasks[0].cancelled:
                heapq.heappop(self._tasks)
            if self._tasks and self._tasks[0].due <= limit:
                return heapq.heappop(self._tasks)
        return None

    @staticmethod
    def _run(task: _Task) -> None:
        try:
            task.action()
        except Exception:  # a failing task must not stop the clock
            logger.exception("scheduled task failed")

    def run_due(self) -> int:
        """Fire every task already due; returns how many ran."""
        count = 0
        with self._firing:
            while (task := self._pop_due(self.now())) is not None:
                self._run(task)
                count += 1
        return count

    def pending(self) -> int:
        with self._lock:
            return sum(1 for t in self._tasks if not t.cancelled)

    def reset(self) -> None:
        """Back to the instant the clock was created with; pending tasks are dropped."""
        with self._lock:
            self._offset, self._frozen_at = self._initial
            for task in self._tasks:
                task.cancel()
            self._tasks.clear()

    def seconds_until_due(self) -> float | None:
        """Real seconds until the next task falls due (0: now), or None if none will in real time."""
        with self._lock:
            while self._tasks and self._tasks[0].cancelled:
                heapq.heappop(self._tasks)
            if not self._tasks:
                return None
            wait = (self._tasks[0].due - self.now()).total_seconds()
        if wait > 0 and self._frozen_at is not None:
            return None  # a frozen clock reaches it only when advanced
        return max(0.0, wait)

    def stop(self) -> None:
        """Cancel every pending task and take no more (the sandbox is gone)."""
        with self._lock:
            self._stopped = True
            for task in self._tasks:
                task.cancel()
            self._tasks.clear()
        if self._ticker is not None:
            self._ticker.forget(self)


class Ticker:
    """One thread firing the due tasks of many clocks in real time (one clock per sandbox).

    It keeps a heap of (real instant, clock) entries: a clock is pushed when it gets a task and
    whenever it is advanced (which can bring a task nearer), so the thread sleeps until the earliest
    entry. Stale entries are harmless: a clock with nothing due yet is pushed again for its next task.
    Due clocks fire on a few worker threads, so one sandbox's slow task (a scenario step waiting for
    its deliveries) does not hold up the timers of every other sandbox.
    """

    def __init__(self, workers: int = 4) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, Clock]] = []
        self._firing: set[Clock] = set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-timers")
        self._order = itertools.count()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-ticker", daemon=True)
        self._thread.start()

    def watch(self, clock: Clock) -> None:
        """Fire ``clock``'s next task when real time reaches it."""
        wait = clock.seconds_until_due()
        if wait is None:
            return
        with self._lock:
            earliest = not self._heap or time.monotonic() + wait < self._heap[0][0]
            heapq.heappush(self._heap, (time.monotonic() + wait, next(self._order), clock))
        if earliest:
            self._wake.set()

    def forget(self, clock: Clock) -> None:
        """Drop a stopped clock's entries."""
        with self._lock:
            self._heap = [entry for entry in self._heap if entry[2] is not clock]
            heapq.heapify(self._heap)

    def watching(self) -> int:
        """How many clocks have an entry (a clock may have several)."""
        with self._lock:
            return len({id(entry[2]) for entry in self._heap})

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.clear()
            with self._lock:
                now = time.monotonic()
                due: dict[Clock, None] = {}
                while self._heap and self._heap[0][0] <= now:
                    due[heapq.heappop(self._heap)[2]] = None
                starting = [clock for clock in due if clock not in self._firing]  # a firing one re-watches itself
                self._firing.update(starting)
                sleep = None if not self._heap else self._heap[0][0] - now
            for clock in starting:
                try:
                    self._pool.submit(self._fire, clock)
                except RuntimeError:  # shut down
                    return
            if not due:
                self._wake.wait(sleep)

    def _fire(self, clock: Clock) -> None:
        try:
            clock.run_due()
        finally:
            with self._lock:
                self._firing.discard(clock)
            self.watch(clock)
