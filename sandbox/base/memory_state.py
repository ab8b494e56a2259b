"""``MemoryState``: the embedded ``State`` of one process (``state.py`` describes what a ``State`` does)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from .state import Batch, LogTail, Read, Spend, Write


class MemoryState:
    """``State`` in this process's memory: dictionaries under one lock; expired entries go lazily."""

    remote = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._values: dict[str, Any] = {}
        self._expires: dict[str, float] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._writes = 0

    # plain values and counters --------------------------------------------------------------------

    def _live(self, name: str) -> bool:
        expires = self._expires.get(name)
        if expires is not None and expires <= time.time():
            self._values.pop(name, None)
            self._expires.pop(name, None)
            return False
        return name in self._values

    def _expire(self, name: str, ttl: float | None) -> None:
        if ttl is not None:
            self._expires[name] = time.time() + ttl
        self._writes += 1
        if self._writes % 4096 == 0:  # now and then, forget what expired and was never read again
            now = time.time()
            for gone in [key for key, when in self._expires.items() if when <= now]:
                self._values.pop(gone, None)
                del self._expires[gone]

    def get(self, name: str) -> Any:
        with self._lock:
            return self._values.get(name) if self._live(name) else None

    def put(self, name: str, value: Any, ttl: float | None = None) -> None:
        with self._lock:
            self._values[name] = value
            self._expires.pop(name, None)
            self._expire(name, ttl)

    def put_new(self, name: str, value: Any) -> bool:
        with self._lock:
            if self._live(name):
                return False
            self._values[name] = value
            return True

    def remove(self, *names: str) -> None:
        with self._lock:
            for name in names:
                self._values.pop(name, None)
                self._expires.pop(name, None)

    def incr(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._lock:
            value = (self._values.get(name, 0) if self._live(name) else 0) + amount
            self._values[name] = value
            self._expire(name, ttl)
            return int(value)

    # hashes ----------------------------------------------------------------------------------------

    def _hash(self, name: str) -> dict[str, Any]:
        table = self._values.get(name)
        if table is None:
            table = self._values[name] = {}
        return table

    def hget(self, name: str, field: str) -> Any:
        with self._lock:
            return self._values.get(name, {}).get(field)

    def hput(self, name: str, field: str, value: Any) -> None:
        with self._lock:
            self._hash(name)[field] = value

    def hremove(self, name: str, *fields: str) -> None:
        with self._lock:
            table = self._values.get(name)
            for field in fields:
                if table is not None:
                    table.pop(field, None)

    def hall(self, name: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._values.get(name, {}))

    def hincr(self, name: str, field: str, amount: int = 1) -> int:
        with self._lock:
            table = self._hash(name)
            table[field] = int(table.get(field, 0)) + amount
            return int(table[field])

    # lists -----------------------------------------------------------------------------------------

    def push(self, name: str, value: Any, keep: int | None = None) -> list[Any]:
        with self._lock:
            items = self._values.setdefault(name, [])
            items.append(value)
            if keep is None or len(items) <= keep:
                return []
            dropped: list[Any] = items[: len(items) - keep]
            del items[: len(items) - keep]
            return dropped

    def items(self, name: str) -> list[Any]:
        with self._lock:
            return list(self._values.get(name, ()))

    def push_sized(self, name: str, value: Any, size: int, keep: int | None, tally: str) -> int:
        with self._lock:
            dropped = self.push(name, [size, value], keep)
            change = size - sum(int(item[0]) for item in dropped)
            self.hincr(tally, name, change)
            return self.hincr(tally, "*", change)

    def pop_oldest(self, name: str) -> Any:
        with self._lock:
            items = self._values.get(name)
            return items.pop(0) if items else None

    def length(self, name: str) -> int:
        with self._lock:
            return len(self._values.get(name, ()))

    def hlength(self, name: str) -> int:
        return len(self.hall(name))

    # numbered logs: [newest number, entries] -------------------------------------------------------

    def log_append(self, name: str, values: list[Any], keep: int) -> int:
        with self._lock:
            log = self._values.setdefault(name, [0, []])
            log[0] += len(values)
            log[1].extend(values)
            if len(log[1]) > keep:
                del log[1][: len(log[1]) - keep]
            return int(log[0])

    def log_after(self, positions: Mapping[str, int]) -> dict[str, LogTail]:
        with self._lock:
            tails: dict[str, LogTail] = {}
            for name, after in positions.items():
                newest, held = self._values.get(name, (0, []))
                first = newest - len(held) + 1
                start = max(after + 1, first) - first
                tails[name] = (newest, [(first + index, held[index]) for index in range(start, len(held))])
            return tails

    # sorted sets -----------------------------------------------------------------------------------

    def zadd(self, name: str, member: str, score: float) -> None:
        with self._lock:
            self._hash(name)[member] = score

    def zremove(self, name: str, *members: str) -> None:
        self.hremove(name, *members)

    def zfirst(self, name: str) -> tuple[str, float] | None:
        with self._lock:
            table = self._values.get(name) or {}
            return min(table.items(), key=lambda item: (item[1], item[0])) if table else None

    def zpop_upto(self, name: str, score: float, count: int = 1) -> list[tuple[str, float]]:
        with self._lock:
            table = self._values.get(name) or {}
            due = sorted((item for item in table.items() if item[1] <= score), key=lambda item: (item[1], item[0]))
            taken = due[:count]
            for member, _ in taken:
                del table[member]
            return taken

    def zall(self, name: str) -> list[tuple[str, float]]:
        with self._lock:
            return sorted((self._values.get(name) or {}).items(), key=lambda item: (item[1], item[0]))

    # places and locks ------------------------------------------------------------------------------

    def admit(self, name: str, token: str, limit: int, lease: float) -> bool:
        with self._lock:
            holders = self._hash(name)
            now = time.time()
            for gone in [held for held, until in holders.items() if until <= now]:
                del holders[gone]
            if len(holders) >= limit:
                return False
            holders[token] = now + lease
            return True

    def release(self, name: str, token: str) -> None:
        self.hremove(name, token)

    @contextmanager
    def lock(self, name: str, timeout: float = 30.0) -> Iterator[None]:
        with self._lock:
            held = self._locks.setdefault(name, threading.RLock())
        with held:
            yield

    def prefetched(
        self, reads: Iterable[Read], writes: Iterable[Write] = (), spends: Iterable[Spend] = ()
    ) -> AbstractContextManager[dict[Read, Any]]:
        """Reads here cost nothing, so later ones are not answered from the snapshot, and counting
        ahead (``spends``) would save nothing."""
        with self._lock:  # once for all of them: every request makes these reads
            got = {read: self._read(read) for read in reads}
            for _, name, value in writes:
                self.put(name, value)
        return nullcontext(got)  # no generator-based context manager: this runs on every request

    def _read(self, read: Read) -> Any:
        kind, name = read[0], read[1]
        if kind == "get":
            return self._values.get(name) if self._live(name) else None
        if kind == "hget":
            return self._values.get(name, {}).get(read[2])
        if kind == "hall":
            return dict(self._values.get(name, {}))
        raise ValueError(f"cannot prefetch {read!r}")

    def batch(self) -> AbstractContextManager[Batch]:
        return _MemoryBatch(self)

    @contextmanager
    def fresh(self) -> Iterator[None]:
        """Writes here cost nothing: they are made at once."""
        yield

    def drop(self) -> None:
        with self._lock:
            self._values.clear()
            self._expires.clear()


class _MemoryBatch(Batch):
    """A ``MemoryState`` batch: its own context manager, run in order as the block ends."""

    def __init__(self, state: MemoryState) -> None:
        super().__init__()
        self._state = state

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.results = [getattr(self._state, operation)(*args) for operation, args in self.calls]
