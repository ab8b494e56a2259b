"""The delivery workers: a fixed set of threads shared by every sandbox's webhooks, taken in turns.

Each sandbox (an *owner*) has its own queue of delivery work; the workers serve the owners
round-robin, one job at a time, and never run more than ``per_owner`` of one owner's jobs at once.
A job may name its *endpoint* (host and port): at most ``per_endpoint`` attempts to one endpoint are
in flight, the rest wait parked until one finishes. So a sandbox with hundreds of queued
deliveries, or with receivers that hang until the attempt deadline, holds at most its share of the
threads, and another sandbox's delivery starts on the next free worker.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

logger = logging.getLogger("sandbox.webhooks")
Job = Callable[[], None]
Queued = tuple[Job, str | None]  # the job and its endpoint


class DeliveryWorkers:
    """``threads`` worker threads; each owner's jobs in order, owners in turns, endpoints capped."""

    def __init__(self, threads: int = 8, per_owner: int | None = None, per_endpoint: int = 2) -> None:
        self.threads = threads
        self.per_owner = per_owner or max(1, threads // 2)
        self.per_endpoint = per_endpoint
        self._changed = threading.Condition()
        self._queues: dict[str, deque[Queued]] = {}
        self._turns: deque[str] = deque()  # owners with queued work and room to run, in rotation
        self._running: dict[str, int] = {}
        self._at_endpoint: dict[str, int] = {}
        self._parked: dict[str, deque[tuple[str, Job]]] = {}  # endpoint -> (owner, job) waiting for room
        self._closed = False
        self._pool = [
            threading.Thread(target=self._work, name=f"eal-webhooks-{n}", daemon=True) for n in range(threads)
        ]
        for thread in self._pool:
            thread.start()

    def submit(self, owner: str, job: Job, endpoint: str | None = None) -> bool:
        """Queue ``job`` for ``owner``; False once the workers are shut down."""
        with self._changed:
            if self._closed:
                return False
            self._queues.setdefault(owner, deque()).append((job, endpoint))
            self._offer(owner)
            self._changed.notify()
        return True

    def queued(self, owner: str | None = None) -> int:
        """Jobs waiting (queued or parked), of one owner or of all."""
        with self._changed:
            parked = [entry for waiting in self._parked.values() for entry in waiting]
            if owner is not None:
                return len(self._queues.get(owner, ())) + sum(1 for who, _ in parked if who == owner)
            return sum(map(len, self._queues.values())) + len(parked)

    def load(self) -> int:
        """Jobs waiting or running, of every owner."""
        with self._changed:
            parked = sum(map(len, self._parked.values()))
            return sum(map(len, self._queues.values())) + parked + sum(self._running.values())

    def running(self, owner: str) -> int:
        """How many of the owner's jobs a worker is running now."""
        with self._changed:
            return self._running.get(owner, 0)

    def drop(self, owner: str) -> int:
        """Forget an owner's waiting jobs (its sandbox is gone); returns how many were dropped."""
        with self._changed:
            dropped = len(self._queues.pop(owner, ()))
            if owner in self._turns:
                self._turns.remove(owner)
            for endpoint, waiting in list(self._parked.items()):
                kept = deque(entry for entry in waiting if entry[0] != owner)
                dropped += len(waiting) - len(kept)
                self._parked[endpoint] = kept
        return dropped

    def shutdown(self) -> None:
        with self._changed:
            self._closed = True
            self._queues.clear()
            self._turns.clear()
            self._parked.clear()
            self._changed.notify_all()

    def _offer(self, owner: str) -> None:
        """Give ``owner`` a turn if it has work and room to run (called with the lock held)."""
        if self._queues.get(owner) and owner not in self._turns and self._running.get(owner, 0) < self.per_owner:
            self._turns.append(owner)

    def _next(self) -> tuple[str, Job, str | None] | None:
        with self._changed:
            while True:
                while not self._turns:
                    if self._closed:
                        return None
                    self._changed.wait()
                owner = self._turns.popleft()
                queue = self._queues[owner]
                job, endpoint = queue.popleft()
                if not queue:
                    del self._queues[owner]
                if endpoint is not None and self._at_endpoint.get(endpoint, 0) >= self.per_endpoint:
                    self._parked.setdefault(endpoint, deque()).append((owner, job))
                    self._offer(owner)  # its other jobs may go to other endpoints
                    continue
                self._running[owner] = self._running.get(owner, 0) + 1
                if endpoint is not None:
                    self._at_endpoint[endpoint] = self._at_endpoint.get(endpoint, 0) + 1
                self._offer(owner)  # its next job waits for the others' turns
                return owner, job, endpoint

    def _done(self, owner: str, endpoint: str | None) -> None:
        with self._changed:
            self._running[owner] -= 1
            if not self._running[owner]:
                del self._running[owner]
            if endpoint is not None:
                self._at_endpoint[endpoint] -= 1
                if not self._at_endpoint[endpoint]:
                    del self._at_endpoint[endpoint]
                waiting = self._parked.get(endpoint)
                if waiting:  # room at the endpoint: its oldest parked job goes first in its owner's queue
                    parked_owner, job = waiting.popleft()
                    if not waiting:
                        del self._parked[endpoint]
                    self._queues.setdefault(parked_owner, deque()).appendleft((job, endpoint))
                    self._offer(parked_owner)
            self._offer(owner)
            self._changed.notify_all()

    def _work(self) -> None:
        while (taken := self._next()) is not None:
            owner, job, endpoint = taken
            try:
                job()
            except Exception:  # one broken job must not take down a worker
                logger.exception("webhook delivery work failed")
            finally:
                self._done(owner, endpoint)
