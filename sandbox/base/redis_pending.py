"""A ``RedisOverlayStore`` transaction's buffer: the writes it made (reads inside see them), the resets it
asked for, what it read under the lock, and the one ``APPLY`` call that commits it all.

Each write is an ``Entry``: a record's state in Redis before the transaction (``before``, as read
or as an insert's check requires it) and after it. The commit turns the entries into the changes of
the written hash, the three ordered sets and the counters, after the resets' deletions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .redis_lock import Held
from .redis_scripts import Keys, decode, encode, member, position_of
from .redis_scripts import field as field_name
from .store import Position, Record

Op = tuple[Any, ...]  # opcode, key name, arguments (see redis_scripts.APPLY)


class Gone(Enum):
    TOMBSTONE = "tombstone"  # a seeded record, deleted
    REMOVED = "removed"  # a record the sandbox added, deleted


@dataclass
class Entry:
    kind: str
    record_id: str
    org_id: str
    position: Position
    seeded: bool
    before: bytes | None  # Redis's value: record JSON, b"" (tombstone) or None (never written)
    after: Record | Gone
    check: str | None = None  # an insert not read first: "absent" or "tomb", checked by the commit

    @property
    def live_before(self) -> bool:
        return self.before != b"" if self.seeded else self.before is not None

    @property
    def live_after(self) -> bool:
        return isinstance(self.after, dict)

    @property
    def current(self) -> Record | None:
        return self.after if isinstance(self.after, dict) else None


@dataclass
class Pending:
    """One thread's open transaction on one store."""

    token: str
    depth: int = 0
    held: Held | None = None  # the lock, once a read took it (a write-only transaction never needs it)
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)
    seen: dict[tuple[str, str], bytes | None] = field(default_factory=dict)  # read under the lock
    reset_all: bool = False
    reset_orgs: set[str] = field(default_factory=set)
    reset_ops: list[Op] = field(default_factory=list)
    deltas: dict[str, int] = field(default_factory=dict)  # what the resets do to the counters
    callbacks: list[Callable[[], object]] = field(default_factory=list)
    staged: list[Op] = field(default_factory=list)  # written with the commit, outside the record keys
    logged: list[int] = field(default_factory=list)  # the numbers the commit gave its staged LOG entries

    def ignores(self, org_id: str) -> bool:
        """Whether a reset in this transaction drops what Redis holds for ``org_id``."""
        return self.reset_all or org_id in self.reset_orgs

    def effective(self, value: bytes | None, seeded_org: str | None) -> bytes | None:
        """A value read from Redis as this transaction sees it: None once a reset drops its organization."""
        if value is None or not (self.reset_all or self.reset_orgs):
            return value
        org_id = seeded_org if seeded_org is not None else decode(value)["organization_id"]
        return None if self.ignores(org_id) else value

    def of(self, kind: str, org_id: str | None = None) -> list[Entry]:
        return [
            entry
            for entry in self.entries.values()
            if entry.kind == kind and (org_id is None or entry.org_id == org_id)
        ]

    def forget(self, org_id: str | None) -> None:
        """Drop the writes a reset of ``org_id`` (or of everything) undoes."""
        self.entries = (
            {} if org_id is None else {key: entry for key, entry in self.entries.items() if entry.org_id != org_id}
        )

    def count_delta(self, kind: str, org_id: str | None) -> int:
        return sum(entry.live_after - entry.live_before for entry in self.of(kind, org_id))

    def added_delta(self, kind: str) -> int:
        return self.deltas.get(f"added:{kind}", 0) + sum(
            entry.live_after - entry.live_before for entry in self.of(kind) if not entry.seeded
        )

    def added_kinds(self) -> set[str]:
        return {entry.kind for entry in self.entries.values() if not entry.seeded} | {
            name.removeprefix("added:") for name in self.deltas if name.startswith("added:")
        }

    def changed_delta(self) -> int:
        return self.deltas.get("changed", 0) + sum(
            (entry.before is None) if entry.seeded else (entry.live_after - (entry.before is not None))
            for entry in self.entries.values()
        )

    def add_delta(self, name: str, delta: int) -> None:
        self.deltas[name] = self.deltas.get(name, 0) + delta

    def reset_everything(self, registered: list[str]) -> None:
        """Drop every key of the sandbox at the commit (and every write before this)."""
        self.reset_all, self.reset_orgs, self.deltas = True, set(), {}
        self.reset_ops = [("DEL", name) for name in registered]
        self.forget(None)

    def reset_organization(
        self, keys: Keys, org_id: str, zsets: list[tuple[str, str]], listed: list[list[bytes]]
    ) -> None:
        """Drop the organization's sorted sets (``zsets``, whose members are ``listed``), the records
        they name and what they count, at the commit (and its writes before this)."""
        for (kind, name), members in zip(zsets, listed, strict=True):
            self.reset_ops.append(("DEL", name))
            self.reset_ops += [("HDEL", keys.written(kind), field_name(position_of(raw)[1])) for raw in members]
            counted = ["changed", f"added:{kind}"] if name == keys.inserted(kind, org_id) else ["changed"]
            for counter in counted if members else ():
                self.reset_ops.append(("HINCRBY", keys.counters, counter, -len(members)))
                self.add_delta(counter, -len(members))
        self.reset_orgs.add(org_id)
        self.forget(org_id)

    @property
    def empty(self) -> bool:
        return not self.entries and not self.reset_ops and not self.staged

    def program(self, keys: Keys, alive: str | None = None) -> tuple[list[str], list[Any], list[Entry]]:
        """The ``APPLY`` call (its keys and its arguments after the first two) and the checked entries;
        with ``alive`` (a key), the commit is refused ("gone") once that key does not exist."""
        checked = [entry for entry in self.entries.values() if entry.check]
        ops: list[Op] = list(self.reset_ops)
        counters: dict[str, int] = {}

        def count(name: str, delta: int) -> None:
            counters[name] = counters.get(name, 0) + delta

        for entry in self.entries.values():
            written, at, before = keys.written(entry.kind), member(entry.position), entry.before
            name = field_name(entry.record_id)
            if entry.seeded:
                replaced, deleted = keys.replaced(entry.kind, entry.org_id), keys.deleted(entry.kind, entry.org_id)
                if isinstance(entry.after, dict):
                    ops.append(("HSET", written, name, encode(entry.after)))
                    if before is None or before == b"":
                        ops.append(("ZADD", replaced, at))
                    if before == b"":
                        ops.append(("ZREM", deleted, at))
                elif before != b"":
                    ops += [("HSET", written, name, b""), ("ZADD", deleted, at)]
                    if before is not None:
                        ops.append(("ZREM", replaced, at))
                if before is None:
                    count("changed", 1)
            elif isinstance(entry.after, dict):
                ops.append(("HSET", written, name, encode(entry.after)))
                if before is None:
                    ops.append(("ZADD", keys.inserted(entry.kind, entry.org_id), at))
                    count(f"added:{entry.kind}", 1)
                    count("changed", 1)
            elif before is not None:
                ops += [("HDEL", written, name), ("ZREM", keys.inserted(entry.kind, entry.org_id), at)]
                count(f"added:{entry.kind}", -1)
                count("changed", -1)
        ops += [("HINCRBY", keys.counters, name, delta) for name, delta in counters.items() if delta]
        if ops:  # the records change: what any process read of them before is stale now
            ops.append(("BUMP", keys.version))
        ops += self.staged
        index: dict[str, int] = {keys.lock: 1, keys.registry: 2}

        def at_index(name: str) -> int:
            return index.setdefault(name, len(index) + 1)

        args: list[Any] = [len(checked) + (alive is not None)]
        for entry in checked:
            args += [entry.check, at_index(keys.written(entry.kind)), field_name(entry.record_id)]
        if alive is not None:  # last, so an "exists" reply's number still names an entry of ``checked``
            args += ["alive", at_index(alive), ""]
        for op in ops:
            if op[0] == "LOG":  # a numbered log's list and its counter: two keys
                args += [op[0], at_index(op[1]), at_index(op[2]), *op[3:]]
            else:
                args += [op[0], at_index(op[1]), *op[2:]]
        return list(index), args, checked
