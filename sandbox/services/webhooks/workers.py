"""The delivery workers: a fixed set of threads shared by every sandbox's webhooks, taken in turns.

Each sandbox (an *owner*) has its own queue of delivery work; the workers serve the owners
round-robin, one job at a time, and never run more than ``per_owner`` of one owner's jobs at once.
So a sandbox with hundreds of queued deliveries, or with receivers that hang until the attempt
deadline, holds at most its share of the threads: another sandbox's delivery starts on the next
free worker.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

logger = logging.getLogger("sandbox.webhooks")
Job = Callable[[], None]


class DeliveryWorkers:
    """``threads`` worker threads; each owner's jobs in order, owners in turns."""

    def __init__(self, threads: int = 8, per_owner: int | None = None) -> None:
        self.threads = threads
        self.per_owner = per_owner or max(1, threads // 2)
        self._changed = threading.Condition()
        self._queues: dict[str, deque[Job]] = {}
        self._turns: deque[str] = deque()  # owners with queued work and room to run, in rotation
        self._running: dict[str, int] = {}
        self._closed = False
        self._pool = [threading.Thread(target=self._work, name=f"eal-webhooks-{n}", daemon=True)
                      for n in range(threads)]
        for thread in self._pool:
            thread.start()

    def submit(self, owner: str, job: Job) -> bool:
        """Queue ``job`` for ``owner``; False once the workers are shut down."""
        with self._changed:
            if self._closed:
                return False
            queue = self._queues.setdefault(owner, deque())
            queue.append(job)
            if len(queue) == 1 and owner not in self._turns and self._running.get(owner, 0) < self.per_owner:
                self._turns.append(owner)
            self._changed.notify()
        return True

    def queued(self, owner: str | None = None) -> int:
        with self._changed:
            if owner is not None:
                return len(self._queues.get(owner, ()))
            return sum(map(len, self._queues.values()))

    def drop(self, owner: str) -> int:
        """Forget an owner's queued jobs (its sandbox is gone); returns how many were dropped."""
        with self._changed:
            dropped = len(self._queues.pop(owner, ()))
            if owner in self._turns:
                self._turns.remove(owner)
        return dropped

    def shutdown(self) -> None:
        with self._changed:
            self._closed = True
            self._queues.clear()
            self._turns.clear()
            self._changed.notify_all()

    def _next(self) -> tuple[str, Job] | None:
        with self._changed:
            while not self._turns:
                if self._closed:
                    return None
                self._changed.wait()
            owner = self._turns.popleft()
            queue = self._queues[owner]
            job = queue.popleft()
            running = self._running[owner] = self._running.get(owner, 0) + 1
            if not queue:
                del self._queues[owner]
            elif running < self.per_owner:
                self._turns.append(owner)  # its next job waits for the others' turns
            return owner, job

    def _done(self, owner: str) -> None:
        with self._changed:
            running = self._running[owner] - 1
            if running:
                self._running[owner] = running
            else:
                del self._running[owner]
            if self._queues.get(owner) and owner not in self._turns:
                self._turns.append(owner)
                self._changed.notify()

    def _work(self) -> None:
        while (taken := self._next()) is not None:
            owner, job = taken
            try:
                job()
            except Exception:  # one broken job must not take down a worker
                logger.exception("webhook delivery work failed")
            finally:
                self._done(owner)
