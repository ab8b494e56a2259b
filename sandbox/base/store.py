"""Where a sandbox's world lives.

``Store`` is the small interface handlers use. ``MemoryStore`` is a thread-safe in-memory store: a
world is built into one, then frozen into a ``SeededBase`` that every sandbox of the same seed
shares. Each sandbox reads and writes through its own ``OverlayStore``: the shared base plus only
what that sandbox changed (records written, tombstones for deletes), so a new sandbox copies
nothing and ``reset`` just drops the overlay. A shared store for a fleet (Redis) implements the
same methods without touching a handler (``base/overlay.py`` holds the memory overlay).

Records are plain dicts carrying ``id``, ``organization_id`` and ``created_at`` (an ISO string
in the seeds' format, so it sorts chronologically). Records are copy-on-write: ``update``
replaces the stored dict rather than mutating it, so a reader never sees a half-written record
and callers must treat what they get as read-only.

Lists are newest first, ordered by ``(created_at, id)`` descending, and paged by keyset: a
cursor is the ``(created_at, id)`` of the last record returned. Records created while a client
pages sort before the cursor, so paging never skips or repeats one.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

Record = dict[str, Any]
Position = tuple[str, str]  # (created_at, id)
Predicate = Callable[[Record], bool]


class Store(Protocol):
    """What handlers may ask of the world's storage."""

    def insert(self, kind: str, record: Record) -> Record: ...

    def get(self, kind: str, org_id: str | None, record_id: str) -> Record | None: ...

    def update(self, kind: str, org_id: str | None, record_id: str, changes: Record) -> Record | None: ...

    def delete(self, kind: str, org_id: str | None, record_id: str) -> Record | None: ...

    def page(
        self,
        kind: str,
        org_id: str,
        *,
        where: Predicate | None = None,
        after: Position | None = None,
        limit: int = 50,
    ) -> tuple[list[Record], Position | None]: ...

    def scan(self, kind: str, org_id: str | None = None) -> Iterator[Record]: ...

    def count(self, kind: str, org_id: str | None = None) -> int: ...

    def transaction(self) -> AbstractContextManager[Any]: ...

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once what the caller is writing is stored (work that must not see uncommitted
        records: queueing a delivery)."""
        ...

    def count_on_commit(self, name: str, amount: int, ttl: float) -> bool:
        """Add ``amount`` to the sandbox state's counter ``name`` (expiring ``ttl`` seconds later) in the
        same step as the records this thread's open transaction writes; False when this store cannot
        (no transaction open, or its sandbox's state is not kept with its records): count it yourself."""
        ...

    def log_on_commit(self, name: str, value: Any, keep: int) -> Callable[[], int] | None:
        """Append ``value`` to the sandbox state's numbered log ``name`` (``State.log_append``, keeping
        ``keep`` entries) in the same step as the records this thread's open transaction writes, and
        return what tells its number once committed; None when this store cannot: append it yourself."""
        ...


class MemoryStore:
    """In-memory ``Store``: one re-entrant lock, per-tenant sorted keys for keyset paging."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._by_id: dict[str, dict[str, Record]] = {}
        # (kind, org_id) -> ascending list of (created_at, id)
        self._order: dict[tuple[str, str], list[Position]] = {}

    def transaction(self) -> threading.RLock:
        """Hold this to make several reads and writes one atomic step."""
        return self._lock

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Writes are stored as they are made here: the callback runs now."""
        callback()

    def count_on_commit(self, name: str, amount: int, ttl: float) -> bool:
        return False

    def log_on_commit(self, name: str, value: Any, keep: int) -> Callable[[], int] | None:
        return None

    def insert(self, kind: str, record: Record) -> Record:
        with self._lock:
            table = self._by_id.setdefault(kind, {})
            if record["id"] in table:
                raise KeyError(f"{kind} {record['id']} already exists")
            table[record["id"]] = record
            keys = self._order.setdefault((kind, record["organization_id"]), [])
            position = (record["created_at"], record["id"])
            if not keys or keys[-1] < position:
                keys.append(position)
            else:
                bisect.insort(keys, position)
        return record

    def get(self, kind: str, org_id: str | None, record_id: str) -> Record | None:
        """The record, or None if absent or owned by another organization."""
        record = self._by_id.get(kind, {}).get(record_id)
        if record is None or (org_id is not None and record["organization_id"] != org_id):
            return None
        return record

    def update(self, kind: str, org_id: str | None, record_id: str, changes: Record) -> Record | None:
        with self._lock:
            current = self.get(kind, org_id, record_id)
            if current is None:
                return None
            replaced = {**current, **changes}
            self._by_id[kind][record_id] = replaced
        return replaced

    def delete(self, kind: str, org_id: str | None, record_id: str) -> Record | None:
        with self._lock:
            current = self.get(kind, org_id, record_id)
            if current is None:
                return None
            del self._by_id[kind][record_id]
            keys = self._order[(kind, current["organization_id"])]
            keys.remove((current["created_at"], record_id))
        return current

    def page(
        self,
        kind: str,
        org_id: str,
        *,
        where: Predicate | None = None,
        after: Position | None = None,
        limit: int = 50,
    ) -> tuple[list[Record], Position | None]:
        """Up to ``limit`` records older than ``after``, newest first, and the next position."""
        table = self._by_id.get(kind, {})
        with self._lock:
            keys = self._order.get((kind, org_id), [])
            end = len(keys) if after is None else bisect.bisect_left(keys, after)
            if where is None:  # no filter: the page (and one more, to know) is a slice of the keys
                found = [table[key[1]] for key in reversed(keys[max(end - limit - 1, 0) : end])]
            else:
                found = []
                index = end - 1
                while index >= 0 and len(found) <= limit:
                    record = table[keys[index][1]]
                    if where(record):
                        found.append(record)
                    index -= 1
        if len(found) > limit:
            last = found[limit - 1]
            return found[:limit], (last["created_at"], last["id"])
        return found, None

    def scan(self, kind: str, org_id: str | None = None) -> Iterator[Record]:
        """Every record of a kind (for one organization if given), newest first."""
        with self._lock:
            if org_id is None:
                records = sorted(
                    self._by_id.get(kind, {}).values(), key=lambda r: (r["created_at"], r["id"]), reverse=True
                )
            else:
                table = self._by_id.get(kind, {})
                records = [table[key[1]] for key in reversed(self._order.get((kind, org_id), []))]
        return iter(records)

    def count(self, kind: str, org_id: str | None = None) -> int:
        if org_id is None:
            return len(self._by_id.get(kind, {}))
        return len(self._order.get((kind, org_id), []))
