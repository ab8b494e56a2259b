"""This process's copy of the newest part of a numbered log in the sandbox's ``State`` (``log_append``).

The feed reads its streams' events and attempts from here, never from the ``State`` directly: the
entries are contiguous up to ``newest`` (never a hole, so a stream never sends a later entry before
an earlier one), at most ``keep`` of them. An entry this process appended joins at once when it is
the next one (``add``); otherwise the entries other processes appended first are missing, and the
next read of the log (``merge``) brings them all, in order.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Any


class LogMirror:
    """The entries of one log this process holds (number, value), oldest first; not thread-safe."""

    def __init__(self, keep: int) -> None:
        self.keep = max(1, keep)
        self.entries: deque[tuple[int, Any]] = deque(maxlen=self.keep)
        self.newest = 0  # every entry up to this number is held (or fell out of the bound)

    @property
    def oldest(self) -> int:
        """The number of the oldest entry held (``newest + 1`` when none is)."""
        return self.entries[0][0] if self.entries else self.newest + 1

    def add(self, number: int, value: Any) -> bool:
        """An entry this process appended; False when entries before it are missing (read the log)."""
        if number <= self.newest:
            return True  # a read of the log brought it already
        if number != self.newest + 1:
            return False
        self.entries.append((number, value))
        self.newest = number
        return True

    def merge(self, newest: int, held: list[tuple[int, Any]]) -> None:
        """What the log held after a position at most ``self.newest`` (``State.log_after``), contiguous, oldest
        first (entries this process added since the read are already here)."""
        if held and held[0][0] > self.newest + 1:  # this copy fell behind the log's bound: start again
            self.entries.clear()
        for number, value in held:
            if number > self.newest:
                self.entries.append((number, value))
                self.newest = number
        self.newest = max(self.newest, newest)

    def after(self, number: int) -> list[tuple[int, Any]]:
        """The entries held numbered after ``number``, oldest first."""
        skip = max(0, number - self.oldest + 1)
        return list(islice(self.entries, skip, None))
