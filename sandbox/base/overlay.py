"""One sandbox's records: a shared, frozen ``SeededBase`` plus that sandbox's own changes.

The in-memory ``OverlayStore`` is the embedded default; a fleet's Redis store implements the same
``Store`` (see ``base/store.py``) with the same semantics.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from .store import MemoryStore, Position, Predicate, Record, Store


class SeededBase:
    """A seeded world, frozen: the records and their order, shared read-only by every sandbox."""

    def __init__(self, built: MemoryStore) -> None:
        with built.transaction():
            self.by_id: dict[str, dict[str, Record]] = {kind: dict(table) for kind, table in built._by_id.items()}
            self.order: dict[tuple[str, str], list[Position]] = {key: list(keys) for key, keys in built._order.items()}

    def record_count(self) -> int:
        return sum(len(table) for table in self.by_id.values())


class SandboxStore(Store, Protocol):
    """A sandbox's ``Store``: a seeded base plus what the sandbox changed, which it can count and undo."""

    def added(self, kind: str | None = None) -> int:
        """Records added (of ``kind``) since the seed."""
        ...

    def fullest(self) -> tuple[str, int] | None:
        """The kind with the most records added, and how many."""
        ...

    @property
    def changed(self) -> int:
        """Records written or deleted since the seed."""
        ...

    def reset(self, org_id: str | None = None) -> None:
        """Back to the seed: the whole sandbox, or one organization."""
        ...

    def drop(self) -> None:
        """Forget every change (the sandbox is gone)."""
        ...


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
        self._local = threading.local()  # this thread's transaction depth and its after-commit callbacks
        self._written: dict[str, dict[str, Record]] = {}  # kind -> id -> record (inserted or replaced)
        self._inserted: dict[tuple[str, str], list[Position]] = {}  # (kind, org_id) -> ascending positions
        self._deleted: dict[str, set[str]] = {}  # kind -> ids of base records deleted
        self._deleted_count: dict[tuple[str, str], int] = {}  # (kind, org_id) -> how many of them
        self._added: dict[str, int] = {}  # kind -> records this sandbox added (not the seed's), for quotas

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make several reads and writes one atomic step (re-entrant); what ``after_commit`` registered
        inside runs once the outermost block is done."""
        with self._lock:
            depth = getattr(self._local, "depth", 0)
            self._local.depth = depth + 1
            if depth == 0:
                self._local.after = []
            try:
                yield
            finally:
                self._local.depth = depth
        if depth == 0:
            for callback in self._local.after:
                callback()

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once what this thread is writing is stored: at the end of its transaction,
        or now outside one (queue work that must not see uncommitted records)."""
        if getattr(self._local, "depth", 0):
            self._local.after.append(callback)
        else:
            callback()

    def count_on_commit(self, name: str, amount: int, ttl: float) -> bool:
        return False  # the state is another object in this process: counting there costs nothing

    def log_on_commit(self, name: str, value: Any, keep: int) -> Callable[[], int] | None:
        return None  # likewise, and one process has no one to die between its steps

    def added(self, kind: str | None = None) -> int:
        """How many records this sandbox added that the seed did not have: of one kind, or the most of any."""
        if kind is not None:
            return self._added.get(kind, 0)
        return max(self._added.values(), default=0)

    def fullest(self) -> tuple[str, int] | None:
        """The kind this sandbox added the most records of, and how many."""
        return max(self._added.items(), key=lambda item: item[1], default=None)

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
                self._added[kind] = self._added.get(kind, 0) + 1
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
                self._added[kind] -= 1
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
        self,
        kind: str,
        org_id: str,
        *,
        where: Predicate | None = None,
        after: Position | None = None,
        limit: int = 50,
    ) -> tuple[list[Record], Position | None]:
        """Up to ``limit`` records older than ``after``, newest first, and the next position."""
        with self._lock:
            if not self._touches(kind, org_id) and where is None:  # untouched: a slice of the base order
                table, keys = self.base.by_id.get(kind, _EMPTY), self.base.order.get((kind, org_id), _NO_KEYS)
                end = len(keys) if after is None else bisect.bisect_left(keys, after)
                found = [table[key[1]] for key in reversed(keys[max(end - limit - 1, 0) : end])]
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
            records = [
                written.get(record_id) or record for record_id, record in base_table.items() if record_id not in deleted
            ]
            records += [record for record_id, record in written.items() if record_id not in base_table]
        return iter(sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True))

    def count(self, kind: str, org_id: str | None = None) -> int:
        with self._lock:
            if org_id is None:
                return sum(1 for _ in self.scan(kind))
            return (
                len(self.base.order.get((kind, org_id), _NO_KEYS))
                - self._deleted_count.get((kind, org_id), 0)
                + len(self._inserted.get((kind, org_id), _NO_KEYS))
            )

    def drop(self) -> None:
        """Forget every change (the sandbox is gone)."""
        self.reset()

    def reset(self, org_id: str | None = None) -> None:
        """Drop this sandbox's changes: all of them, or one organization's."""
        with self._lock:
            if org_id is None:
                self._written, self._inserted, self._deleted, self._deleted_count = {}, {}, {}, {}
                self._added = {}
                return
            for table in self._written.values():
                for record_id in [i for i, record in table.items() if record["organization_id"] == org_id]:
                    del table[record_id]
            for slot in [slot for slot in self._inserted if slot[1] == org_id]:
                self._added[slot[0]] -= len(self._inserted.pop(slot))
            for kind, ids in self._deleted.items():
                restored = {i for i in ids if self.base.by_id[kind][i]["organization_id"] == org_id}
                ids -= restored
            for slot in [slot for slot in self._deleted_count if slot[1] == org_id]:
                del self._deleted_count[slot]
