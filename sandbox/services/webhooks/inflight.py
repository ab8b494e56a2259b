"""Bookkeeping for background delivery work: attempts in flight per organization, and which work
a reset made stale.

Only attempts queued on the pool or being sent count as in flight; a retry parked on the clock does
not (it is scheduled work, not work in progress), so waiting for deliveries to settle never waits
for a retry that is due minutes of sandbox time from now.
"""

from __future__ import annotations

import threading
import time


class InFlight:
    """Counts delivery attempts queued or running, per organization."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._changed = threading.Condition()

    def add(self, org_id: str) -> None:
        with self._changed:
            self._counts[org_id] = self._counts.get(org_id, 0) + 1

    def done(self, org_id: str) -> None:
        with self._changed:
            left = self._counts.get(org_id, 0) - 1
            if left > 0:
                self._counts[org_id] = left
            else:
                self._counts.pop(org_id, None)
                self._changed.notify_all()

    def count(self, org_id: str | None = None) -> int:
        with self._changed:
            return sum(self._counts.values()) if org_id is None else self._counts.get(org_id, 0)

    def wait_idle(self, org_id: str | None, timeout: float) -> bool:
        """True once nothing of ``org_id`` (of anyone, if None) is in flight; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (self._counts if org_id is None else self._counts.get(org_id)):
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
