"""The request journal: every request the sandbox served, per tenant.

Each organization keeps its last ``capacity`` requests, plus a per-operation count of the status
codes it was answered with (coverage), which survives the rotation. Requests made without a key are
kept under the ``-`` tenant. The journal is bounded in bytes too (``max_bytes``, roughly counted):
past it, the oldest entries of the tenant that keeps the most go first. It lives in the sandbox's
``State``, so every process of a fleet records into, and reads, the same journal.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..base.clock import isoformat
from ..base.state import State

DEFAULT_CAPACITY = 10_000
FILTERS = ("method", "path", "status", "operation_id")
NO_TENANT = "-"
MAX_STORED_PATH = 2048  # a longer path is kept cut (its bytes count against the journal)


class Journal:
    """Records served requests; queried and reset through the control API."""

    def __init__(self, state: State, capacity: int = DEFAULT_CAPACITY, max_bytes: int | None = None) -> None:
        self.state, self.capacity, self.max_bytes = state, capacity, max_bytes

    def record(self, entry: dict[str, Any]) -> None:
        """Keep one served request, dropping the oldest past ``capacity`` entries or ``max_bytes``."""
        tenant = entry.get("organization_id") or NO_TENANT
        kept = {**entry, "at": isoformat(entry["at"]) if isinstance(entry["at"], datetime) else entry["at"]}
        if isinstance(kept.get("path"), str) and len(kept["path"]) > MAX_STORED_PATH:
            kept["path"] = kept["path"][:MAX_STORED_PATH]
        size = entry_size(kept)
        dropped = self.state.push(f"journal:{tenant}", kept, keep=self.capacity)
        self.state.hincr("journal-bytes", tenant, size - sum(map(entry_size, dropped)))
        total = self.state.incr("journal-bytes-total", size - sum(map(entry_size, dropped)))
        self.state.hput("journal-tenants", tenant, True)
        if entry.get("operation_id"):
            self.state.hincr(f"coverage:{tenant}", f"{entry['operation_id']}|{entry['status']}")
        while self.max_bytes is not None and total > self.max_bytes:
            freed = self._evict_one()
            if not freed:
                break
            total = self.state.incr("journal-bytes-total", -freed)

    def _evict_one(self) -> int:
        """Drop the oldest entry of the tenant that keeps the most bytes; return its size (0: none left)."""
        sizes = self.state.hall("journal-bytes")
        for tenant, _ in sorted(sizes.items(), key=lambda item: -int(item[1])):
            if self.state.length(f"journal:{tenant}") > 1:
                oldest = self.state.pop_oldest(f"journal:{tenant}")
                size = entry_size(oldest) if oldest else 0
                self.state.hincr("journal-bytes", tenant, -size)
                return size
        return 0

    @property
    def size_bytes(self) -> int:
        return int(self.state.get("journal-bytes-total") or 0)

    def entries(
        self, org_id: str | None, *, since: datetime | None = None, limit: int | None = None, **wanted: Any
    ) -> list[dict[str, Any]]:
        """The tenant's requests matching every given filter, newest first."""
        filters = {name: value for name, value in wanted.items() if name in FILTERS and value is not None}
        after = None if since is None else isoformat(since)
        found = []
        for entry in reversed(self.state.items(f"journal:{org_id or NO_TENANT}")):
            if after is not None and entry["at"] < after:
                break  # entries are appended in clock order
            if all(_matches(entry.get(name), value) for name, value in filters.items()):
                found.append(entry)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def count(self, org_id: str | None) -> int:
        return self.state.length(f"journal:{org_id or NO_TENANT}")

    def clear(self, org_id: str | None) -> int:
        """Forget the tenant's requests and coverage; return how many requests were dropped."""
        tenant = org_id or NO_TENANT
        dropped = self.state.length(f"journal:{tenant}")
        self.state.incr("journal-bytes-total", -int(self.state.hget("journal-bytes", tenant) or 0))
        self.state.hremove("journal-bytes", tenant)
        self.state.hremove("journal-tenants", tenant)
        self.state.remove(f"journal:{tenant}", f"coverage:{tenant}")
        return dropped

    def reset(self) -> None:
        """Forget every tenant's requests and coverage (a whole-sandbox reset)."""
        for tenant in self.state.hall("journal-tenants"):
            self.state.remove(f"journal:{tenant}", f"coverage:{tenant}")
        self.state.remove("journal-tenants", "journal-bytes", "journal-bytes-total")

    def coverage(self, org_id: str | None, operations: Iterable[Any]) -> dict[str, Any]:
        """For every spec operation: the status codes the tenant's requests got, and how often."""
        seen: dict[str, dict[int, int]] = {}
        for key, count in self.state.hall(f"coverage:{org_id or NO_TENANT}").items():
            operation_id, _, status = key.rpartition("|")
            seen.setdefault(operation_id, {})[int(status)] = int(count)
        rows, never = [], []
        for operation in operations:
            statuses = seen.get(operation.id, {})
            documented = list(operation.documented_statuses)
            rows.append({
                "operation_id": operation.id, "method": operation.method, "path": operation.path,
                "called": bool(statuses), "requests": sum(statuses.values()),
                "statuses": {str(code): count for code, count in sorted(statuses.items())},
                "documented_statuses": documented,
                "untested_statuses": [code for code in documented if code not in statuses],
            })
            if not statuses:
                never.append(operation.id)
        called = len(rows) - len(never)
        return {"operations": rows, "never_called": never, "called": called, "total": len(rows)}


def entry_size(entry: dict[str, Any]) -> int:
    """Roughly what one entry takes: a fixed part and its strings."""
    return 400 + sum(len(value) for value in entry.values() if isinstance(value, str))


def _matches(actual: Any, wanted: Any) -> bool:
    """Exact match; a ``path`` ending in ``*`` matches by prefix."""
    if isinstance(wanted, str) and wanted.endswith("*") and isinstance(actual, str):
        return actual.startswith(wanted[:-1])
    return bool(actual == wanted)
