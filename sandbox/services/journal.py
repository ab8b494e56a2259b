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
BYTES = "journal-bytes"  # each tenant's list's size (field: the list's name) and all of them (field "*")


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
        with self.state.batch() as batch:  # one round trip in a fleet
            batch.add("push_sized", f"journal:{tenant}", kept, entry_size(kept), self.capacity, BYTES)
            if entry.get("operation_id"):
                batch.add("hincr", f"coverage:{tenant}", f"{entry['operation_id']}|{entry['status']}")
        total = int(batch.results[0])
        while self.max_bytes is not None and total > self.max_bytes:
            if not self._evict_one():
                break
            total = self.size_bytes

    def _evict_one(self) -> bool:
        """Drop the oldest entry of the tenant that keeps the most bytes (never a tenant's last one)."""
        sizes = {name: int(size) for name, size in self.state.hall(BYTES).items() if name != "*"}
        for name, _ in sorted(sizes.items(), key=lambda item: -item[1]):
            if self.state.length(name) > 1:
                oldest = self.state.pop_oldest(name)
                if oldest:
                    self.state.hincr(BYTES, name, -int(oldest[0]))
                    self.state.hincr(BYTES, "*", -int(oldest[0]))
                return True
        return False

    @property
    def size_bytes(self) -> int:
        return int(self.state.hget(BYTES, "*") or 0)

    def entries(
        self, org_id: str | None, *, since: datetime | None = None, limit: int | None = None, **wanted: Any
    ) -> list[dict[str, Any]]:
        """The tenant's requests matching every given filter, newest first."""
        filters = {name: value for name, value in wanted.items() if name in FILTERS and value is not None}
        after = None if since is None else isoformat(since)
        found = []
        for _, entry in reversed(self.state.items(f"journal:{org_id or NO_TENANT}")):
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
        name = f"journal:{org_id or NO_TENANT}"
        dropped = self.state.length(name)
        self.state.hincr(BYTES, "*", -int(self.state.hget(BYTES, name) or 0))
        self.state.hremove(BYTES, name)
        self.state.remove(name, f"coverage:{org_id or NO_TENANT}")
        return dropped

    def reset(self) -> None:
        """Forget every tenant's requests and coverage (a whole-sandbox reset)."""
        for name in self.state.hall(BYTES):
            if name != "*":
                self.state.remove(name, "coverage:" + name.removeprefix("journal:"))
        self.state.remove(BYTES)

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
    """Roughly what one entry takes: a fixed part and its strings."""
    return 400 + sum(len(value) for value in entry.values() if isinstance(value, str))


def _matches(actual: Any, wanted: Any) -> bool:
    """Exact match; a ``path`` ending in ``*`` matches by prefix."""
    if isinstance(wanted, str) and wanted.endswith("*") and isinstance(actual, str):
        return actual.startswith(wanted[:-1])
    return bool(actual == wanted)
