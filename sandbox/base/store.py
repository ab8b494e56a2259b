"""Where a sandbox's world lives.

``Store`` is the small interface handlers use. ``MemoryStore`` is a thread-safe in-memory store: a
world is built into one, then frozen into a ``SeededBase`` that every sandbox of the same seed
shares. Each sandbox reads and writes through its own ``OverlayStore``: the shared base plus only
what that sandbox changed (records written, tombstones for deletes), so a new sandbox copies
nothing and ``reset`` just drops the overlay. A shared store for a fleet (Redis) implements the
same methods without touching a handler.

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
        self, kind: str, org_id: str, *, where: Predicate | None = None,
        after: Position | None = None, limit: int = 50,
    ) -> tuple[list[Record], Position | None]: ...

    def scan(self, kind: str, org_id: str | None = None) -> Iterator[Record]: ...

    def count(self, kind: str, org_id: str | None = None) -> int: ...

    def transaction(self) -> AbstractContextManager[Any]: ...


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
        self, kind: str, org_id: str, *, where: Predicate | None = None,
        after: Position | None = None, limit: int = 50,
    ) -> tuple[list[Record], Position | None]:
        """Up to ``limit`` records older than ``after``, newest first, and the next position."""
        table = self._by_id.get(kind, {})
        with self._lock:
            keys = self._order.get((kind, org_id), [])
            end = len(keys) if after is None else bisect.bisect_left(keys, after)
            if where is None:  # no filter: the page (and one more, to know) is a slice of the keys
                found = [table[key[1]] for key in reversed(keys[max(end - limit - 1, 0):end])]
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
                records = sorted(self._by_id.get(kind, {}).values(),
                                 key=lambda r: (r["created_at"], r["id"]), reverse=True)
            else:
                table = self._by_id.get(kind, {})
                records = [table[key[1]] for key in reversed(self._order.get((kind, org_id), []))]
        return iter(records)

    def count(self, kind: str, org_id: str | None = None) -> int:
        if org_id is None:
            return len(self._by_id.get(kind, {}))
        return len(self._order.get((kind, org_id), []))


class SeededBase:
    """A seeded world, frozen: the records and their order, shared read-only by every sandbox."""

    def __init__(self, built: MemoryStore) -> None:
        with built.transaction():
            self.by_id: dict[str, dict[str, Record]] = {kind: dict(table) for kind, table in built._by_id.items()}
            self.order: dict[tuple[str, str], list[Position]] = {key: list(keys) for key, keys in built._order.items()}

    def record_count(self) -> int:
        return sum(len(table) for table in self.by_id.values())


_EMPTY: dict[str, Record] = {}
_NO_KEYS: list[Position] = []


class OverlayStore:
    """One sandbox's ``Store``: a shared ``SeededBase`` plus this sandbox's own changes.

    Inserted records and new versions of base records live in the overlay's tables; a deleted base
    record leaves a tombstone. A record's position (``created_at``, ``id``) and organization never
    change, so a base record keeps its place in the base order when the overlay replaces it, and
    paging merges two ordered sequences: the base's (minus tombstones) and the overlay's inserts.
    """

    def __init__(self, base: SeededBase) -> None:
        self.base = base
        self._lock = threading.RLock()
        self._written: dict[str, dict[str, Record]] = {}  # kind -> id -> record (inserted or replaced)
        self._inserted: dict[tuple[str, str], list[Position]] = {}  # (kind, org_id) -> ascending positions
        self._deleted: dict[str, set[str]] = {}  # kind -> ids of base records deleted
        self._deleted_count: dict[tuple[str, str], int] = {}  # (kind, org_id) -> how many of them

    def transaction(self) -> threading.RLock:
        """Hold this to make several reads and writes one atomic step."""
        return self._lock

    @property
    def changed(self) -> int:
        """How many records this sandbox wrote or deleted (its overlay's size)."""
        return sum(len(table) for table in self._written.values()) + sum(map(len, self._deleted.values()))

    def _in_base(self, kind: str, record_id: str) -> Record | None:
        if record_id in self._deleted.get(kind, ()):
            return None
        return self.base.by_id.get(kind, _EMPTY).get(record_id)

    def _current(self, kind: str, record_id: str) -> Record | None:
        written = self._written.get(kind, _EMPTY).get(record_id)
        return written if written is not None else self._in_base(kind, record_id)

    def insert(self, kind: str, record: Record) -> Record:
        with self._lock:
            if self._current(kind, record["id"]) is not None:
                raise KeyError(f"{kind} {record['id']} already exists")
            position = (record["created_at"], record["id"])
            base = self.base.by_id.get(kind, _EMPTY).get(record["id"])
            if base is not None:  # a seeded id comes back only as that record, in its place
                if (base["created_at"], base["organization_id"]) != (record["created_at"], record["organization_id"]):
                    raise KeyError(f"{kind} {record['id']} is a seeded record's id")
                self._deleted[kind].discard(record["id"])
                self._deleted_count[(kind, record["organization_id"])] -= 1
            else:
                keys = self._inserted.setdefault((kind, record["organization_id"]), [])
                if not keys or keys[-1] < position:
                    keys.append(position)
                else:
                    bisect.insort(keys, position)
            self._written.setdefault(kind, {})[record["id"]] = record
        return record

    def get(self, kind: str, org_id: str | None, record_id: str) -> Record | None:
        """The record, or None if absent or owned by another organization."""
        record = self._current(kind, record_id)
        if record is None or (org_id is not None and record["organization_id"] != org_id):
            return None
        return record

    def update(self, kind: str, org_id: str | None, record_id: str, changes: Record) -> Record | None:
        with self._lock:
            current = self.get(kind, org_id, record_id)
            if current is None:
                return None
            replaced = {**current, **changes}
            if any(replaced[name] != current[name] for name in ("id", "organization_id", "created_at")):
                raise ValueError(f"{kind} {record_id}: id, organization_id and created_at never change")
            self._written.setdefault(kind, {})[record_id] = replaced
        return replaced

    def delete(self, kind: str, org_id: str | None, record_id: str) -> Record | None:
        with self._lock:
            current = self.get(kind, org_id, record_id)
            if current is None:
                return None
            self._written.get(kind, {}).pop(record_id, None)
            slot = (kind, current["organization_id"])
            if record_id in self.base.by_id.get(kind, _EMPTY):  # a base record: leave a tombstone
                self._deleted.setdefault(kind, set()).add(record_id)
                self._deleted_count[slot] = self._deleted_count.get(slot, 0) + 1
            else:
                self._inserted[slot].remove((current["created_at"], record_id))
        return current

    def _newest_first(self, kind: str, org_id: str, after: Position | None) -> Iterator[Record]:
        """The organization's records of ``kind`` older than ``after``, newest first: the base order and
        the overlay's inserts merged, tombstones skipped, replaced records in their new version."""
        base_keys = self.base.order.get((kind, org_id), _NO_KEYS)
        new_keys = self._inserted.get((kind, org_id), _NO_KEYS)
        i = len(base_keys) if after is None else bisect.bisect_left(base_keys, after)
        j = len(new_keys) if after is None else bisect.bisect_left(new_keys, after)
        base_table, written = self.base.by_id.get(kind, _EMPTY), self._written.get(kind, _EMPTY)
        deleted = self._deleted.get(kind, ())
        while i > 0 or j > 0:
            if j == 0 or (i > 0 and base_keys[i - 1] > new_keys[j - 1]):
                i -= 1
                record_id = base_keys[i][1]
                if record_id in deleted:
                    continue
                yield written.get(record_id) or base_table[record_id]
            else:
                j -= 1
                yield written[new_keys[j][1]]

    def page(
        self, kind: str, org_id: str, *, where: Predicate | None = None,
        after: Position | None = None, limit: int = 50,
    ) -> tuple[list[Record], Position | None]:
        """Up to ``limit`` records older than ``after``, newest first, and the next position."""
        with self._lock:
            if not self._touches(kind, org_id) and where is None:  # untouched: a slice of the base order
                table, keys = self.base.by_id.get(kind, _EMPTY), self.base.order.get((kind, org_id), _NO_KEYS)
                end = len(keys) if after is None else bisect.bisect_left(keys, after)
                found = [table[key[1]] for key in reversed(keys[max(end - limit - 1, 0):end])]
            else:
                found = []
                for record in self._newest_first(kind, org_id, after):
                    if where is None or where(record):
                        found.append(record)
                        if len(found) > limit:
                            break
        if len(found) > limit:
            last = found[limit - 1]
            return found[:limit], (last["created_at"], last["id"])
        return found, None

    def _touches(self, kind: str, org_id: str) -> bool:
        """Whether the overlay changed anything of this organization's ``kind`` (or of the kind at all)."""
        return bool(self._written.get(kind) or self._inserted.get((kind, org_id)) or self._deleted.get(kind))

    def scan(self, kind: str, org_id: str | None = None) -> Iterator[Record]:
        """Every record of a kind (for one organization if given), newest first."""
        with self._lock:
            if org_id is not None:
                return iter(list(self._newest_first(kind, org_id, None)))
            deleted, written = self._deleted.get(kind, set()), self._written.get(kind, _EMPTY)
            base_table = self.base.by_id.get(kind, _EMPTY)
            records = [written.get(record_id) or record for record_id, record in base_table.items()
                       if record_id not in deleted]
            records += [record for record_id, record in written.items() if record_id not in base_table]
        return iter(sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True))

    def count(self, kind: str, org_id: str | None = None) -> int:
        with self._lock:
            if org_id is None:
                return sum(1 for _ in self.scan(kind))
            return (len(self.base.order.get((kind, org_id), _NO_KEYS)) - self._deleted_count.get((kind, org_id), 0)
                    + len(self._inserted.get((kind, org_id), _NO_KEYS)))

    def reset(self, org_id: str | None = None) -> None:
        """Drop this sandbox's changes: all of them, or one organization's."""
        with self._lock:
            if org_id is None:
                self._written, self._inserted, self._deleted, self._deleted_count = {}, {}, {}, {}
                return
            for table in self._written.values():
                for record_id in [i for i, record in table.items() if record["organization_id"] == org_id]:
                    del table[record_id]
            for slot in [slot for slot in self._inserted if slot[1] == org_id]:
                del self._inserted[slot]
            for kind, ids in self._deleted.items():
                restored = {i for i in ids if self.base.by_id[kind][i]["organization_id"] == org_id}
                ids -= restored
            for slot in [slot for slot in self._deleted_count if slot[1] == org_id]:
                del self._deleted_count[slot]
