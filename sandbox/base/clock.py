"""The one clock every timestamp, TTL, expiry and "ready at" in the sandbox comes from.

A ``Clock`` runs in real time by default. It can be frozen at an instant or shifted
(``advance``), which makes it a virtual clock: tasks scheduled with ``call_at`` fire in
time order as soon as they are due — on ``advance`` synchronously, otherwise from a
background ticker thread started with ``start``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

logger = logging.getLogger("sandbox.clock")


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

    def __init__(self, start: datetime | None = None, frozen: bool = False) -> None:
        self._offset = timedelta(0) if start is None else utc(start) - self._real_now()
        self._frozen_at: datetime | None = utc(start) if (frozen and start) else None
        if frozen and start is None:
            self._frozen_at = self._real_now()
        self._initial = (self._offset, self._frozen_at)
        self._tasks: list[_Task] = []
        self._order = itertools.count()
        self._lock = threading.RLock()
        self._firing = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None

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
            heapq.heappush(self._tasks, task)
        self._wake.set()
        return task

    def advance(self, delta: timedelta) -> list[datetime]:
        """Move the clock forward, firing every task due on the way, in time order.

        Each task runs with the clock set to its own due time, so what it stamps is
        what it would have stamped in real time. Returns the due times that fired.
        """
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        target = self.now() + delta
        fired: list[datetime] = []
        with self._firing:
            while (task := self._pop_due(target)) is not None:
                self._set_now(max(task.due, self.now()))
                fired.append(task.due)
                self._run(task)
            self._set_now(target)
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

    def start(self) -> None:
        """Start the background ticker that fires due tasks in real time."""
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="sandbox-clock", daemon=True)
            self._ticker.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def _tick(self) -> None:
        while not self._stopped.is_set():
            self.run_due()
            with self._lock:
                head = self._tasks[0].due if self._tasks else None
            wait = 0.5 if head is None else max(0.0, min(0.5, (head - self.now()).total_seconds()))
            self._wake.wait(wait)
            self._wake.clear()

