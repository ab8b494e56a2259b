"""The threads that run the app: one does the work, the others step in only while it is held up.

The app is bound by the GIL, so two threads running it at once do not go faster: they take turns,
and every turn costs a hand-over. Measured behind the front door (wrk, 16 connections, GET
/api/v1/leads): the app's own CPU time per request was 153 µs on one thread and 251 µs spread
over four, and throughput fell from 5,090 to 3,091 req/s. But some requests wait without
working (a scenario's latency sleeps; a scenario's settle waits for webhook receivers that may
call the sandbox back), and behind them nothing may stall. So one thread takes every job, and a
watchdog calls in a helper when jobs are waiting and none has started for ``HELD_UP_SECONDS``:
the threads at work are all held up. A helper takes jobs only while the first thread is still
held up, then goes back to waiting, so under a steady load one thread does all the work. On a fleet
store the opposite holds (requests wait on Redis most of their time): there every thread works.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

HELD_UP_SECONDS = 0.01  # a request normally takes well under a millisecond


class AppThreads:
    """``size`` threads running ``work(job)`` for each submitted job, at most ``size`` at once.

    ``concurrent``: every thread takes jobs as they come, a plain pool — for an app whose requests
    mostly wait on the network (a fleet store: each request is a few Redis round trips, during which
    the GIL is free for another request's Python).
    """

    def __init__(
        self, size: int, work: Callable[[Any], None], name: str = "sandbox-app", concurrent: bool = False
    ) -> None:
        self._work, self._concurrent = work, concurrent
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._call_in = threading.Semaphore(0)
        self._stopping = threading.Event()
        self._last_start = time.monotonic()
        self._first_since = 0.0  # when the first thread's current job started; 0.0 while it waits
        self._threads = [
            threading.Thread(target=self._serve, args=(n == 0 or concurrent,), name=f"{name}-{n + 1}", daemon=True)
            for n in range(max(1, size))
        ]
        self._watchdog = threading.Thread(target=self._watch, name=f"{name}-watchdog", daemon=True)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        if len(self._threads) > 1 and not self._concurrent:
            self._watchdog.start()

    def submit(self, job: Any) -> None:
        self._jobs.put(job)

    def stop(self) -> None:
        """Let every thread finish the job it is on and end."""
        self._stopping.set()
        for _ in self._threads:
            self._jobs.put(_STOP)
            self._call_in.release()

    def _serve(self, first: bool) -> None:
        if first:
            while (job := self._jobs.get()) is not _STOP:
                self._last_start = self._first_since = time.monotonic()
                self._work(job)
                self._first_since = 0.0
                del job  # let go of the request now, not when the next job arrives
            return
        while True:
            self._call_in.acquire()  # until the watchdog calls this helper in
            while not self._stopping.is_set() and self._first_held_up():
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    return
                self._last_start = time.monotonic()
                self._work(job)
                del job
            if self._stopping.is_set():
                return

    def _first_held_up(self) -> bool:
        since = self._first_since
        return since != 0.0 and time.monotonic() - since >= HELD_UP_SECONDS

    def _watch(self) -> None:
        while not self._stopping.wait(HELD_UP_SECONDS):
            if not self._jobs.empty() and time.monotonic() - self._last_start > HELD_UP_SECONDS:
                self._call_in.release()
                self._last_start = time.monotonic()  # give the helper its turn before calling another


_STOP = object()
