"""Bookkeeping for background delivery work, in the sandbox's ``State`` (so a fleet shares it):
attempts in flight per organization, and which work a reset made stale.

Only work queued or being sent counts as in flight; a retry parked on the clock does not (it is
scheduled work, not work in progress), so waiting for deliveries to settle never waits for a retry
that is due minutes of sandbox time from now.
"""

from __future__ import annotations

import time

from ...base.state import State

Epoch = tuple[int, int]  # (whole-sandbox resets, this organization's resets)
POLL_SECONDS = 0.005


class InFlight:
    """Counts delivery work queued or running, per organization."""

    def __init__(self, state: State) -> None:
        self.state = state

    def add(self, org_id: str) -> None:
        self.state.hincr("in-flight", org_id, 1)

    def done(self, org_id: str) -> None:
        self.state.hincr("in-flight", org_id, -1)

    def count(self, org_id: str | None = None) -> int:
        if org_id is not None:
            return max(0, int(self.state.hget("in-flight", org_id) or 0))
        return sum(max(0, int(value)) for value in self.state.hall("in-flight").values())

    def wait_idle(self, org_id: str | None, timeout: float) -> bool:
        """True once nothing of ``org_id`` (of anyone, if None) is in flight; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.count(org_id) > 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True


class Epochs:
    """Reset counters: work stamped with an older epoch belongs to a world that is gone."""

    def __init__(self, state: State) -> None:
        self.state = state

    def current(self, org_id: str) -> Epoch:
        epochs = self.state.hall("epochs")
        return int(epochs.get("*", 0)), int(epochs.get(org_id, 0))

    def stale(self, org_id: str, epoch: Epoch | list[int]) -> bool:
        return tuple(epoch) != self.current(org_id)

    def bump(self, org_id: str | None) -> None:
        """Start a new epoch for one organization, or for everyone if None."""
        self.state.hincr("epochs", "*" if org_id is None else org_id)
