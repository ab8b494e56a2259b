"""Retries waiting on the sandbox clock, cancellable per subscription.

A retry is a clock task (``clock.call_at``), so advancing a virtual clock fires it; all the task does
is hand the attempt back to the worker pool. A waiting retry is scheduled work, not work in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...base.clock import Clock


class RetryQueue:
    """Clock tasks that re-queue delivery attempts, grouped by subscription."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._tasks: dict[str, dict[int, Any]] = {}  # webhook id -> token -> clock task (with its due)
        self._next_token = 0
        self._closed = False

    def schedule(self, webhook_id: str, due: datetime, requeue: Callable[[], object]) -> None:
        """Call ``requeue`` when the clock reaches ``due``, unless cancelled first."""
        with self._lock:
            if self._closed:
                return
            token, self._next_token = self._next_token, self._next_token + 1
            # Registered under the lock, so a task firing at once still finds its token.
            task = self.clock.call_at(due, lambda: self._fire(webhook_id, token, requeue))
            self._tasks.setdefault(webhook_id, {})[token] = task

    def _fire(self, webhook_id: str, token: int, requeue: Callable[[], object]) -> None:
        with self._lock:
            tasks = self._tasks.get(webhook_id, {})
            if tasks.pop(token, None) is None:
                return  # cancelled meanwhile
            if not tasks:
                self._tasks.pop(webhook_id, None)
        requeue()

    def next_due(self) -> datetime | None:
        """When the earliest waiting retry is due (sandbox clock), or None if none waits."""
        with self._lock:
            dues = [task.due for tasks in self._tasks.values() for task in tasks.values()]
        return min(dues, default=None)

    def cancel(self, webhook_ids: set[str] | None) -> None:
        """Cancel the waiting retries of these subscriptions (all if None)."""
        with self._lock:
            for webhook_id in list(self._tasks) if webhook_ids is None else webhook_ids:
                for task in self._tasks.pop(webhook_id, {}).values():
                    task.cancel()

    def close(self) -> None:
        """Cancel everything and accept no more retries."""
        with self._lock:
            self._closed = True
        self.cancel(None)
