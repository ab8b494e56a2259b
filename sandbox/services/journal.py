"""The request journal: every request the sandbox served, per tenant.

Each organization keeps its last ``capacity`` requests in a bounded deque, plus a per-operation
count of the status codes it was answered with (coverage), which survives the deque's rotation.
Requests made without a key are kept under the ``None`` tenant. Recording is one lock, one
append and one counter increment, so the hot path barely notices it.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..base.clock import isoformat

DEFAULT_CAPACITY = 10_000
FILTERS = ("method", "path", "status", "operation_id")


class Journal:
    """Records served requests; queried and reset through the control API."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, max_bytes: int | None = None) -> None:
        self.capacity, self.max_bytes = capacity, max_bytes
        self._lock = threading.Lock()
        self._entries: dict[str | None, deque[dict[str, Any]]] = {}
        self._coverage: dict[str | None, dict[str, Counter[int]]] = {}
        self._bytes = 0  # what the kept entries take, roughly (the journal's quota counts it)

    def record(self, entry: dict[str, Any]) -> None:
        """Keep one served request, dropping the oldest past ``capacity`` entries or ``max_bytes``."""
        org_id, operation_id = entry.get("organization_id"), entry.get("operation_id")
        size = entry_size(entry)
        with self._lock:
            entries = self._entries.get(org_id)
            if entries is None:
                entries = self._entries[org_id] = deque()
            if len(entries) >= self.capacity:
                self._bytes -= entry_size(entries.popleft())
            entries.append(entry)
            self._bytes += size
            while self.max_bytes is not None and self._bytes > self.max_bytes and self._evict_one():
                pass
            if operation_id:
                self._coverage.setdefault(org_id, {}).setdefault(operation_id, Counter())[
                    entry["status"]
                ] += 1

    def entries(
        self, org_id: str | None, *, since: datetime | None = None, limit: int | None = None, **wanted: Any
    ) -> list[dict[str, Any]]:
        """The tenant's requests matching every given filter, newest first, timestamps as text."""
        filters = {name: value for name, value in wanted.items() if name in FILTERS and value is not None}
        with self._lock:
            snapshot = list(self._entries.get(org_id, ()))
        found = []
        for entry in reversed(snapshot):
            if since is not None and entry["at"] < since:
                break  # entries are appended in clock order
            if all(_matches(entry.get(name), value) for name, value in filters.items()):
                found.append({**entry, "at": isoformat(entry["at"])})
                if limit is not None and len(found) >= limit:
                    break
        return found

    def _evict_one(self) -> bool:
        """Drop the oldest entry of the tenant that keeps the most (called with the lock held)."""
        fullest = max(self._entries.values(), key=len, default=None)
        if not fullest or len(fullest) <= 1:
            return False
        self._bytes -= entry_size(fullest.popleft())
        return True

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def count(self, org_id: str | None) -> int:
        with self._lock:
            return len(self._entries.get(org_id, ()))

    def clear(self, org_id: str | None) -> int:
        """Forget the tenant's requests and coverage; return how many requests were dropped."""
        with self._lock:
            gone = self._entries.pop(org_id, deque())
            self._bytes -= sum(map(entry_size, gone))
            self._coverage.pop(org_id, None)
        return len(gone)

    def reset(self) -> None:
        """Forget every tenant's requests and coverage (a whole-world reset)."""
        with self._lock:
            self._entries.clear()
            self._coverage.clear()
            self._bytes = 0

    def coverage(self, org_id: str | None, operations: Iterable[Any]) -> dict[str, Any]:
        """For every spec operation: the status codes the tenant's requests got, and how often."""
        with self._lock:
            seen = {op: dict(counts) for op, counts in self._coverage.get(org_id, {}).items()}
        rows, never = [], []
        for operation in operations:
            statuses = seen.get(operation.id, {})
            documented = sorted(int(code) for code in operation.responses if code.isdigit())
            rows.append(
                {
                    "operation_id": operation.id,
                    "method": operation.method,
                    "path": operation.path,
                    "called": bool(statuses),
                    "requests": sum(statuses.values()),
                    "statuses": {str(code): count for code, count in sorted(statuses.items())},
                    "documented_statuses": documented,
                    "untested_statuses": [code for code in documented if code not in statuses],
                }
            )
            if not statuses:
                never.append(operation.id)
        called = len(rows) - len(never)
        return {"operations": rows, "never_called": never, "called": called, "total": len(rows)}


def entry_size(entry: dict[str, Any]) -> int:
    """Roughly what one entry takes in memory: a fixed part and its strings."""
    return 400 + sum(len(value) for value in entry.values() if isinstance(value, str))


def _matches(actual: Any, wanted: Any) -> bool:
    """Exact match; a ``path`` ending in ``*`` matches by prefix."""
    if isinstance(wanted, str) and wanted.endswith("*") and isinstance(actual, str):
        return actual.startswith(wanted[:-1])
    return bool(actual == wanted)
