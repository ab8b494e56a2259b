"""The clock every timestamp, TTL, expiry and "ready at" of one sandbox comes from.

A ``Clock`` runs in real time by default. It can be frozen at an instant or shifted
(``advance``), which makes it a virtual clock: tasks scheduled with ``call_at`` fire in
time order as soon as they are due — on ``advance`` synchronously, otherwise from the process's
``Ticker``, one thread that fires the due tasks of every sandbox's clock in real time (in a fleet,
``composition``'s fleet ticker, which finds due sandboxes through Redis).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from .state import State

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


Dispatch = Callable[[str, dict[str, Any]], object]  # runs a task: its name and payload


def _no_dispatch(name: str, payload: dict[str, Any]) -> None:
    logger.warning("no task handler for %s", name)


class Tasks:
    """What each named task of a sandbox's clock does: its owners register a handler per name."""

    def __init__(self) -> None:
        self._handlers: dict[str, Callable[[dict[str, Any]], object]] = {}

    def register(self, name: str, handler: Callable[[dict[str, Any]], object]) -> None:
        self._handlers[name] = handler

    def run(self, name: str, payload: dict[str, Any]) -> object:
        handler = self._handlers.get(name)
        if handler is None:
            raise LookupError(f"no handler for the clock task {name!r}")
        return handler(payload)


class Watcher(Protocol):
    """Fires a clock's tasks when real time reaches them: told whenever the clock's next task may have
    changed (``Ticker`` in one process; the fleet's watches every process's clocks in Redis)."""

    def watch(self, clock: Clock) -> None: ...

    def forget(self, clock: Clock) -> None: ...

    def stop(self) -> None: ...


class Clock:
    """Real time plus an offset, optionally frozen; runs named tasks at instants.

    Its state — the offset, the frozen instant, the instant it was made with, and the tasks — lives
    in the sandbox's ``State``, so in a fleet every process reads the same clock and a task fires in
    one process only (taking a due task is atomic). A task is a name, a JSON payload and an optional
    ``tag`` (to cancel a group of them); ``dispatch`` runs it. ``establish`` sets a new sandbox's
    clock; a process that attaches to an existing sandbox reads what is there.
    """

    def __init__(
        self, state: State, *, dispatch: Dispatch = _no_dispatch, ticker: Watcher | None = None, name: str = ""
    ) -> None:
        self.state, self._dispatch, self._ticker, self.name = state, dispatch, ticker, name
        self._firing = threading.RLock()
        self._stopped = False

    @classmethod
    def make(cls, start: datetime | None = None, frozen: bool = False, **options: Any) -> Clock:
        """A clock of its own (state in this process's memory), set running: what a test or a tool needs."""
        from .memory_state import MemoryState

        clock = cls(MemoryState(), **options)
        clock.establish(start, frozen)
        return clock

    def establish(self, start: datetime | None = None, frozen: bool = False) -> None:
        """Set a new sandbox's clock: real time, or ``start`` (moving on from there, unless ``frozen``)."""
        offset = 0.0 if start is None else (utc(start) - self._real_now()).total_seconds()
        frozen_at = (utc(start) if start else self._real_now()).timestamp() if frozen else None
        self.state.put("clock", {"offset": offset, "frozen": frozen_at, "initial": [offset, frozen_at]})

    @staticmethod
    def _real_now() -> datetime:
        return datetime.now(UTC)

    def _settings(self) -> dict[str, Any]:
        return self.state.get("clock") or {"offset": 0.0, "frozen": None, "initial": [0.0, None]}

    @property
    def is_virtual(self) -> bool:
        settings = self._settings()
        return settings["frozen"] is not None or settings["offset"] != 0

    @property
    def frozen(self) -> bool:
        return self._settings()["frozen"] is not None

    def now(self) -> datetime:
        """The current instant on this clock (aware UTC)."""
        settings = self._settings()
        if settings["frozen"] is not None:
            return datetime.fromtimestamp(settings["frozen"], UTC)
        offset = settings["offset"]
        # A clock left in real time (most): no timedelta to make and add, several times a request.
        return self._real_now() + timedelta(seconds=offset) if offset else self._real_now()

    def call_at(
        self, due: datetime, name: str, payload: dict[str, Any] | None = None, *, tag: str | None = None
    ) -> str:
        """Run the task ``name`` with ``payload`` once the clock reaches ``due``; returns the task's id."""
        task_id = uuid.uuid4().hex
        if self._stopped:
            return task_id
        member = orjson.dumps({"id": task_id, "name": name, "payload": payload or {}, "tag": tag}).decode()
        self.state.zadd("timers", member, utc(due).timestamp())
        self._changed()
        return task_id

    def cancel(self, tag: str) -> int:
        """Drop every pending task of ``tag``; returns how many."""
        gone = [member for member, _ in self.state.zall("timers") if orjson.loads(member)["tag"] == tag]
        self.state.zremove("timers", *gone)
        if gone:
            self._changed()
        return len(gone)

    def tasks(self, tag: str | None = None) -> list[tuple[datetime, dict[str, Any]]]:
        """The pending tasks (of ``tag``), earliest first, with their due instants."""
        found = [
            (datetime.fromtimestamp(score, UTC), orjson.loads(member)) for member, score in self.state.zall("timers")
        ]
        return [entry for entry in found if tag is None or entry[1]["tag"] == tag]

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
        with self._firing, self.state.lock("clock-advance"):
            while taken := self.state.zpop_upto("timers", target.timestamp(), 1):
                member, score = taken[0]
                due = datetime.fromtimestamp(score, UTC)
                self._set_now(max(due, self.now()))
                fired.append(due)
                self._run(member)
            self._set_now(target)
        self._changed()  # what is left may now fall due sooner in real time
        return fired

    def _set_now(self, instant: datetime) -> None:
        settings = dict(self._settings())
        if settings["frozen"] is not None:
            settings["frozen"] = instant.timestamp()
        else:
            settings["offset"] = (instant - self._real_now()).total_seconds()
        self.state.put("clock", settings)

    def _run(self, member: str) -> None:
        task = orjson.loads(member)
        try:
            self._dispatch(task["name"], task["payload"])
        except Exception:  # a failing task must not stop the clock
            logger.exception("scheduled task %s failed", task["name"])

    def run_due(self) -> int:
        """Fire every task already due; returns how many ran."""
        count = 0
        with self._firing:
            while taken := self.state.zpop_upto("timers", self.now().timestamp(), 1):
                self._run(taken[0][0])
                count += 1
        if count:
            self._changed()
        return count

    def pending(self) -> int:
        return len(self.state.zall("timers"))

    def reset(self) -> None:
        """Back to the instant the clock was made with; pending tasks are dropped."""
        settings = self._settings()
        offset, frozen = settings["initial"]
        self.state.put("clock", {"offset": offset, "frozen": frozen, "initial": [offset, frozen]})
        self.state.remove("timers")
        self._changed()

    def seconds_until_due(self) -> float | None:
        """Real seconds until the next task falls due (0: now), or None if none will in real time."""
        first = self.state.zfirst("timers")
        if first is None:
            return None
        wait = first[1] - self.now().timestamp()
        if wait > 0 and self.frozen:
            return None  # a frozen clock reaches it only when advanced
        return max(0.0, wait)

    def stop(self) -> None:
        """Take no more tasks in this process (the sandbox is gone; its state is dropped elsewhere)."""
        self._stopped = True
        if self._ticker is not None:
            self._ticker.forget(self)

    def _changed(self) -> None:
        if self._ticker is not None and not self._stopped:
            self._ticker.watch(self)


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
