"""The deliveries log: one ``delivery`` record per attempt, the last 100 per subscription.

The records are in the store; the order of each subscription's attempts (many share a millisecond,
so the store alone cannot order them by start) is a list in the sandbox's ``State``.
"""

from __future__ import annotations

from typing import Any

from ...base.state import State
from ...base.store import Record, Store

KEEP_PER_SUBSCRIPTION = 100
STATUSES = ("pending", "retrying", "delivered", "failed")


class DeliveryLog:
    """Writes attempt records and trims each subscription's log to the newest ``keep``."""

    def __init__(self, store: Store, state: State, keep: int = KEEP_PER_SUBSCRIPTION) -> None:
        self.store, self.state, self.keep = store, state, keep

    def start(self, attempt: Record) -> Record:
        """Store a ``pending`` attempt and drop the subscription's oldest beyond ``keep``."""
        self.store.insert("delivery", attempt)
        for delivery_id in self.state.push(f"deliveries:{attempt['webhook_id']}", attempt["id"], keep=self.keep):
            self.store.delete("delivery", None, delivery_id)
        return attempt

    def finish(self, org_id: str, delivery_id: str, outcome: dict[str, Any]) -> Record | None:
        """Record how an attempt ended (status, response, latency, error, next attempt)."""
        return self.store.update("delivery", org_id, delivery_id, outcome)

    def recent(self, org_id: str, webhook_id: str, limit: int = KEEP_PER_SUBSCRIPTION) -> list[Record]:
        """Up to ``limit`` of the subscription's attempts, newest first."""
        found: list[Record] = []
        for delivery_id in reversed(self.state.items(f"deliveries:{webhook_id}")):
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
        for delivery_id in self.state.items(f"deliveries:{webhook_id}"):
            self.store.delete("delivery", None, delivery_id)
        self.state.remove(f"deliveries:{webhook_id}")

    def forget(self, webhook_ids: set[str]) -> None:
        """Drop the order of these subscriptions' logs; the store is being reset."""
        self.state.remove(*(f"deliveries:{webhook_id}" for webhook_id in webhook_ids))
