"""The deliveries log: one ``delivery`` record per attempt, the last 100 per subscription."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from ...base.store import Record, Store

KEEP_PER_SUBSCRIPTION = 100
STATUSES = ("pending", "retrying", "delivered", "failed")


class DeliveryLog:
    """Writes attempt records and trims each subscription's log to the newest ``keep``."""

    def __init__(self, store: Store, keep: int = KEEP_PER_SUBSCRIPTION) -> None:
        self.store, self.keep = store, keep
        self._lock = threading.Lock()
        # webhook id -> its delivery ids, oldest first; the store alone cannot order by attempt
        # start because many attempts share a millisecond.
        self._ids: dict[str, deque[str]] = {}

    def start(self, attempt: Record) -> Record:
        """Store a ``pending`` attempt and drop the subscription's oldest beyond ``keep``."""
        self.store.insert("delivery", attempt)
        with self._lock:
            ids = self._ids.setdefault(attempt["webhook_id"], deque())
            ids.append(attempt["id"])
            dropped = [ids.popleft() for _ in range(len(ids) - self.keep)]
        for delivery_id in dropped:
            self.store.delete("delivery", None, delivery_id)
        return attempt

    def finish(self, org_id: str, delivery_id: str, outcome: dict[str, Any]) -> Record | None:
        """Record how an attempt ended (status, response, latency, error, next attempt)."""
        return self.store.update("delivery", org_id, delivery_id, outcome)

    def recent(self, org_id: str, webhook_id: str, limit: int = KEEP_PER_SUBSCRIPTION) -> list[Record]:
        """Up to ``limit`` of the subscription's attempts, newest first."""
        with self._lock:
            ids = list(self._ids.get(webhook_id, ()))
        found: list[Record] = []
        for delivery_id in reversed(ids):
            record = self.store.get("delivery", org_id, delivery_id)
            if record is not None:
                found.append(record)
                if len(found) == limit:
                    break
        return found

    def get(self, org_id: str, delivery_id: str) -> Record | None:
        return self.store.get("delivery", org_id, delivery_id)

    def remove(self, webhook_id: str) -> None:
        """Delete a subscription's whole log."""
        with self._lock:
            ids = self._ids.pop(webhook_id, deque())
        for delivery_id in ids:
            self.store.delete("delivery", None, delivery_id)

    def forget(self, webhook_ids: set[str] | None) -> None:
        """Drop the index for these subscriptions (all if None); the store is being restored."""
        with self._lock:
            if webhook_ids is None:
                self._ids.clear()
            for webhook_id in webhook_ids or ():
                self._ids.pop(webhook_id, None)
