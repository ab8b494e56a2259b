"""Bookkeeping for background work: how much is unfinished, and which of it a reset made stale."""

from __future__ import annotations

import threading
import time


class WorkCounter:
    """Counts work queued, running or scheduled; ``wait_idle`` blocks until it reaches zero."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def add(self, amount: int = 1) -> None:
        with self._changed:
            self._count += amount

    def done(self, amount: int = 1) -> None:
        with self._changed:
            self._count -= amount
            if self._count <= 0:
                self._changed.notify_all()

    @property
    def count(self) -> int:
        return self._count

    def wait_idle(self, timeout: float) -> bool:
        """Return True once nothing is in flight, False if ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._count > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True


Epoch = tuple[int, int]  # (whole-world resets, this organization's resets)


class Epochs:
    """Reset counters: work stamped with an older epoch belongs to a world that is gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._world = 0
        self._organizations: dict[str, int] = {}

    def current(self, org_id: str) -> Epoch:
        return self._world, self._organizations.get(org_id, 0)

    def stale(self, org_id: str, epoch: Epoch) -> bool:
        return epoch != self.current(org_id)

    def bump(self, org_id: str | None) -> None:
        """Start a new epoch for one organization, or for everyone if None."""
        with self._lock:
            if org_id is None:
                self._world += 1
            else:
                self._organizations[org_id] = self._organizations.get(org_id, 0) + 1
