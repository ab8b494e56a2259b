"""``RedisOverlayStore``: the fleet's twin of ``OverlayStore`` — one sandbox's records as the shared,
immutable ``SeededBase`` (every process rebuilds it from the seed; it never goes to Redis) plus the
sandbox's overlay, kept in Redis so every process serving the sandbox reads and writes the same one.

Keys (all ``sbx:{<sandbox id>}:…``, one hash tag: one Redis Cluster slot per sandbox; see
``redis_scripts.Keys``): ``w:<kind>`` a hash of the records written (JSON; "" is a deleted seeded
record's tombstone); ``i:<kind>:<org>``, ``r:<kind>:<org>``, ``d:<kind>:<org>`` sorted sets (score 0,
member ``created_at\\0id``, so ZRANGEBYLEX pages by keyset) of the records added, of the seeded
records replaced and of those deleted; ``n`` a hash of counters (``added:<kind>``, ``changed``);
``keys`` the set of those keys (for ``drop``, ``reset`` and ``memory_usage``); ``lock``. An untouched
sandbox has no key at all. Besides the immutable base, a process keeps only what it read under the
records' version a request saw as it began (``RedisTransactions``), so a write through one instance
is what the next read through any other sees.

Transactions (``with store.transaction():``, re-entrant per thread) hold this instance's thread lock
and, from their first Redis read on, the sandbox's lock (``redis_lock``: SET NX PX, token, renewed,
expiring after a crash): the read that needs it takes it in the same round trip, and a transaction
that reads nothing from Redis (create-and-audit) never waits for it but commits only while nobody
holds it. Writes inside are buffered (reads inside see them) and committed at the outermost exit in
one ``APPLY`` script, which first checks the lock is still this transaction's (or free) and the
inserts' "no such record" checks, so a commit writes all of it or nothing; an exception discards the
buffer. An insert of an id the transaction did not read is checked by that commit: a duplicate raises
KeyError at the block's exit (the memory overlay raises it at the insert). A write outside a
transaction is a transaction of its own. Nested blocks belong to the outermost one: an exception a
caller catches inside it does not undo the inner block's writes.

Round trips (``tests/benchmarks/bench_redis_store.py`` counts them): ``get`` 1; ``page`` 1, touched or
not, plus one per run that runs out of its batch (filters that skip many records, long runs of
deletes); ``scan``/``count``/``added``/``changed`` 1; ``insert`` outside a transaction 1; ``update``
and ``delete`` outside one 2 (the read that takes the lock, the commit that releases it); a
transaction 1 for its commit, plus its reads (the first also takes the lock), e.g. create-and-audit 1,
read-change-audit 2; ``reset()`` 2, ``reset(org)`` 3, ``drop``/``memory_usage`` 2. A transaction
waiting for the lock retries its first read (backoff 1–25 ms, ``LockTimeout`` after the wait).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from redis import Redis
from redis.cluster import RedisCluster

from .overlay import SeededBase
from .redis_lock import LockSettings
from .redis_paging import Run, newest_first, read_runs
from .redis_pending import Entry, Gone, Pending
from .redis_scripts import decode, field, text
from .redis_transactions import RedisTransactions, Version, unknown_version
from .store import Position, Predicate, Record

_EMPTY: dict[str, Record] = {}
_NO_KEYS: list[Position] = []
_IMMUTABLE = ("id", "organization_id", "created_at")


def _pairs(flat: list[bytes]) -> dict[str, bytes]:
    return {text(name): value for name, value in zip(flat[::2], flat[1::2], strict=True)}


class RedisOverlayStore(RedisTransactions):
    """One sandbox's ``Store`` in Redis: the shared ``SeededBase`` plus the overlay its sandbox id names."""

    def __init__(
        self,
        redis: Redis | RedisCluster,
        sandbox_id: str,
        base: SeededBase,
        *,
        lock: LockSettings | None = None,
        version: Version = unknown_version,
        alive: str | None = None,
    ) -> None:
        super().__init__(redis, sandbox_id, lock, version, alive)
        self.base = base

    # Records ----------------------------------------------------------------------------------------

    def _seeded(self, kind: str, record_id: str) -> Record | None:
        return self.base.by_id.get(kind, _EMPTY).get(record_id)

    def _remote(self, tx: Pending | None, kind: str, record_id: str, seeded: Record | None) -> bytes | None:
        """What Redis holds for a record, as ``tx`` sees it (read once under its lock, then remembered)."""
        if tx is not None and (tx.reset_all or (seeded is not None and tx.ignores(seeded["organization_id"]))):
            return None
        if tx is not None and (kind, record_id) in tx.seen:
            value = tx.seen[(kind, record_id)]
        else:
            value = self._read("get", [self.keys.written(kind)], [field(record_id)])[0]
            if tx is not None:
                tx.seen[(kind, record_id)] = value
        if tx is None:
            return value
        return tx.effective(value, None if seeded is None else seeded["organization_id"])

    def get(self, kind: str, org_id: str | None, record_id: str) -> Record | None:
        """The record, or None if absent or owned by another organization."""
        seeded = self._seeded(kind, record_id)
        if seeded is not None and org_id is not None and seeded["organization_id"] != org_id:
            return None
        tx = self._tx()
        entry = None if tx is None else tx.entries.get((kind, record_id))
        if entry is not None:
            record = entry.current
        else:
            value = self._remote(tx, kind, record_id, seeded)
            record = seeded if value is None else None if value == b"" else decode(value)
        if record is None or (org_id is not None and record["organization_id"] != org_id):
            return None
        return record

    def insert(self, kind: str, record: Record) -> Record:
        record_id, org_id = record["id"], record["organization_id"]
        if ":" in kind:
            raise ValueError(f"a kind names keys: no ':' in {kind!r}")
        seeded = self._seeded(kind, record_id)
        if seeded is not None and (seeded["created_at"], seeded["organization_id"]) != (record["created_at"], org_id):
            raise KeyError(f"{kind} {record_id} is a seeded record's id")
        tx = self._tx()
        if tx is None:
            with self.transaction():
                return self.insert(kind, record)
        key, position = (kind, record_id), (record["created_at"], record_id)
        entry = tx.entries.get(key)
        if entry is not None:
            if entry.live_after:
                raise KeyError(f"{kind} {record_id} already exists")
            entry.after = record
            return record
        check = None
        if tx.reset_all or key in tx.seen or tx.reset_orgs:  # known, or only exact if read now
            before = self._remote(tx, kind, record_id, seeded)
            if (before != b"") if seeded is not None else (before is not None):
                raise KeyError(f"{kind} {record_id} already exists")
        else:  # not read: the commit checks it is absent (or a tombstone), in the same step that writes
            before, check = (b"" if seeded is not None else None), ("tomb" if seeded is not None else "absent")
        tx.entries[key] = Entry(kind, record_id, org_id, position, seeded is not None, before, record, check)
        return record

    def _write(self, tx: Pending, kind: str, current: Record, after: Record | Gone) -> None:
        key = (kind, current["id"])
        entry = tx.entries.get(key)
        if entry is not None:
            entry.after = after
            return
        seeded = self._seeded(kind, current["id"])
        before = self._remote(tx, kind, current["id"], seeded)  # remembered by the get before this
        tx.entries[key] = Entry(
            kind,
            current["id"],
            current["organization_id"],
            (current["created_at"], current["id"]),
            seeded is not None,
            before,
            after,
        )

    def update(self, kind: str, org_id: str | None, record_id: str, changes: Record) -> Record | None:
        tx = self._tx()
        if tx is None:
            with self.transaction():
                return self.update(kind, org_id, record_id, changes)
        current = self.get(kind, org_id, record_id)
        if current is None:
            return None
        replaced = {**current, **changes}
        if any(replaced[name] != current[name] for name in _IMMUTABLE):
            raise ValueError(f"{kind} {record_id}: id, organization_id and created_at never change")
        self._write(tx, kind, current, replaced)
        return replaced

    def delete(self, kind: str, org_id: str | None, record_id: str) -> Record | None:
        tx = self._tx()
        if tx is None:
            with self.transaction():
                return self.delete(kind, org_id, record_id)
        current = self.get(kind, org_id, record_id)
        if current is None:
            return None
        gone = Gone.TOMBSTONE if self._seeded(kind, record_id) is not None else Gone.REMOVED
        self._write(tx, kind, current, gone)
        return current

    # Lists ------------------------------------------------------------------------------------------

    def _runs(
        self, tx: Pending | None, kind: str, org_id: str, after: Position | None, batch: int
    ) -> tuple[Run, Run, Run]:
        """The organization's inserted, replaced and deleted runs older than ``after``: one round trip."""
        if tx is not None and tx.ignores(org_id):
            return Run.empty(), Run.empty(), Run.empty()
        note = None if tx is None else (lambda record_id, value: tx.seen.setdefault((kind, record_id), value))
        return read_runs(lambda args: self._read("page", self.keys.runs(kind, org_id), args), after, batch, note)

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
        tx = self._tx()
        mine = {} if tx is None else {entry.record_id: entry for entry in tx.of(kind, org_id)}
        runs = self._runs(tx, kind, org_id, after, limit + 1)
        table, keys = self.base.by_id.get(kind, _EMPTY), self.base.order.get((kind, org_id), _NO_KEYS)
        if where is None and not mine and all(run.untouched for run in runs):  # a slice of the base order
            end = len(keys) if after is None else bisect.bisect_left(keys, after)
            found = [table[key[1]] for key in reversed(keys[max(end - limit - 1, 0) : end])]
        else:
            found = []
            for record in newest_first(keys, table, after, runs, mine):
                if where is None or where(record):
                    found.append(record)
                    if len(found) > limit:
                        break
        if len(found) > limit:
            last = found[limit - 1]
            return found[:limit], (last["created_at"], last["id"])
        return found, None

    def scan(self, kind: str, org_id: str | None = None) -> Iterator[Record]:
        """Every record of a kind (for one organization if given), newest first."""
        tx = self._tx()
        table = self.base.by_id.get(kind, _EMPTY)
        if org_id is not None:
            mine = {} if tx is None else {entry.record_id: entry for entry in tx.of(kind, org_id)}
            runs = self._runs(tx, kind, org_id, None, -1)
            return iter(list(newest_first(self.base.order.get((kind, org_id), _NO_KEYS), table, None, runs, mine)))
        read = tx is None or not tx.reset_all
        remote = _pairs(self._read("get_all", [self.keys.written(kind)], [])[0]) if read else {}
        mine = {} if tx is None else {entry.record_id: entry for entry in tx.of(kind)}
        records: list[Record] = []
        for record_id in {*table, *remote, *mine}:
            entry = mine.get(record_id)
            if entry is not None:
                record = entry.current
            else:
                seeded = table.get(record_id)
                value = remote.get(record_id)
                if tx is not None and read:
                    tx.seen.setdefault((kind, record_id), value)
                    value = tx.effective(value, None if seeded is None else seeded["organization_id"])
                record = seeded if value is None else None if value == b"" else decode(value)
            if record is not None:
                records.append(record)
        return iter(sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True))

    def count(self, kind: str, org_id: str | None = None) -> int:
        tx = self._tx()
        if org_id is not None:
            remote = 0
            if tx is None or not tx.ignores(org_id):
                _, added, dead = self._read(
                    "cards",
                    [self.keys.counters, self.keys.inserted(kind, org_id), self.keys.deleted(kind, org_id)],
                    [b""],
                )
                remote = int(added) - int(dead)
            delta = 0 if tx is None else tx.count_delta(kind, org_id)
            return len(self.base.order.get((kind, org_id), _NO_KEYS)) + remote + delta
        if tx is not None and tx.reset_orgs:  # some organizations' overlays are ignored: count what is there
            return sum(1 for _ in self.scan(kind))
        remote = 0
        if tx is None or not tx.reset_all:
            orgs = [org for (seeded_kind, org) in self.base.order if seeded_kind == kind]
            added, *dead = self._read(
                "cards", [self.keys.counters, *(self.keys.deleted(kind, org) for org in orgs)], [f"added:{kind}"]
            )
            remote = int(added or 0) - sum(map(int, dead))
        delta = 0 if tx is None else tx.count_delta(kind, None)
        return len(self.base.by_id.get(kind, _EMPTY)) + remote + delta

    # Counters, resets and the sandbox's keys --------------------------------------------------------

    def _counters(self) -> dict[str, int]:
        tx = self._tx()
        if tx is not None and tx.reset_all:
            return {}
        return {name: int(value) for name, value in _pairs(self._read("counters", [self.keys.counters], [])[0]).items()}

    def added(self, kind: str | None = None) -> int:
        """How many records this sandbox added that the seed did not have: of one kind, or the most of any."""
        if kind is not None:
            tx = self._tx()
            return self._counters().get(f"added:{kind}", 0) + (0 if tx is None else tx.added_delta(kind))
        return max(self._added().values(), default=0)

    def fullest(self) -> tuple[str, int] | None:
        """The kind this sandbox added the most records of, and how many."""
        return max(self._added().items(), key=lambda item: item[1], default=None)

    def _added(self) -> dict[str, int]:
        counts = {
            name.removeprefix("added:"): value for name, value in self._counters().items() if name.startswith("added:")
        }
        tx = self._tx()
        if tx is not None:
            for kind in tx.added_kinds():
                counts[kind] = counts.get(kind, 0) + tx.added_delta(kind)
        return counts

    @property
    def changed(self) -> int:
        """How many records this sandbox wrote or deleted (its overlay's size)."""
        tx = self._tx()
        return self._counters().get("changed", 0) + (0 if tx is None else tx.changed_delta())

    def reset(self, org_id: str | None = None) -> None:
        """Drop this sandbox's changes: all of them, or one organization's (its records and index entries)."""
        tx = self._tx()
        if tx is None:
            with self.transaction():
                self.reset(org_id)
            return
        if org_id is None:
            tx.reset_everything([text(name) for name in self._read("registry", [self.keys.registry], [])[0]])
        elif tx.ignores(org_id):
            tx.forget(org_id)
        else:
            self._check_inserts(tx)
            registered = {text(name) for name in self._read("registry", [self.keys.registry], [])[0]}
            zsets = self.keys.of_organization(org_id, registered)
            listed = self._read("members", [name for _, name in zsets], []) if zsets else []
            tx.reset_organization(self.keys, org_id, zsets, listed)

    def _check_inserts(self, tx: Pending) -> None:
        """Read what the pending inserts' checks would check (a reset is about to change it)."""
        for entry in [entry for entry in tx.entries.values() if entry.check]:
            value = self._remote(tx, entry.kind, entry.record_id, self._seeded(entry.kind, entry.record_id))
            if (value != b"") if entry.seeded else (value is not None):
                raise KeyError(f"{entry.kind} {entry.record_id} already exists")
            entry.before, entry.check = value, None
