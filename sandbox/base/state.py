"""The small state of one sandbox that is not records: counters, windows, lists, timers, locks.

Services keep their state through a ``State`` — the journal, rate-limit windows, quotas, scenario
fault counters and runs, delivery bookkeeping, keys, the clock and its timers — so the same service
code runs in one process (``MemoryState``, the embedded default) and in a fleet of processes sharing
Redis (``base/redis_state.py``). A ``State`` is scoped to one sandbox (or to the fleet's own keys);
names are plain strings, values anything JSON can carry, and callers treat what they read as
read-only. The operations are the few the services need, each atomic on its own; ``lock`` makes a
sequence of them one step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

# A read a request makes every time: ("get", name), ("hget", name, field) or ("hall", name).
Read = tuple[str, ...]
# A write sent with those reads: ("put", name, value).
Write = tuple[str, str, Any]
# What a numbered log holds after a position: its newest number and the (number, value) entries, oldest first.
LogTail = tuple[int, list[tuple[int, Any]]]


class Batch:
    """Operations sent together (``State.batch``): ``add`` each by name and arguments; ``results``
    holds what each returned once the batch has been sent."""

    OPERATIONS = frozenset({"put", "remove", "incr", "hput", "hincr", "hremove", "push_sized", "zadd"})

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.results: list[Any] = []

    def add(self, operation: str, *args: Any) -> None:
        if operation not in self.OPERATIONS:
            raise ValueError(f"{operation} cannot be batched")
        self.calls.append((operation, args))


class State(Protocol):
    """One sandbox's (or the fleet's) non-record state."""

    def get(self, name: str) -> Any: ...

    def put(self, name: str, value: Any, ttl: float | None = None) -> None: ...

    def remove(self, *names: str) -> None: ...

    def put_new(self, name: str, value: Any) -> bool:
        """Set ``name`` only if it is not set yet; True if this call set it."""
        ...

    def incr(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to a counter (made at 0) and return it; ``ttl`` seconds (wall clock) refreshes its life."""
        ...

    def hget(self, name: str, field: str) -> Any: ...

    def hput(self, name: str, field: str, value: Any) -> None: ...

    def hremove(self, name: str, *fields: str) -> None: ...

    def hall(self, name: str) -> dict[str, Any]: ...

    def hincr(self, name: str, field: str, amount: int = 1) -> int: ...

    def hlength(self, name: str) -> int:
        """How many fields the hash ``name`` has."""
        ...

    def push(self, name: str, value: Any, keep: int | None = None) -> list[Any]:
        """Append to a list; keep its newest ``keep`` items and return the ones dropped, oldest first."""
        ...

    def items(self, name: str) -> list[Any]:
        """A list, oldest first."""
        ...

    def push_sized(self, name: str, value: Any, size: int, keep: int | None, tally: str) -> int:
        """Append ``[size, value]`` to the list ``name`` and keep its newest ``keep`` items; the hash
        ``tally`` keeps, in step, each such list's total size (field: the list's name) and all of
        them together (field ``*``). Returns that total of all."""
        ...

    def pop_oldest(self, name: str) -> Any: ...

    def length(self, name: str) -> int: ...

    def log_append(self, name: str, values: list[Any], keep: int) -> int:
        """Append ``values`` to the numbered log ``name``, numbering them on from its last (1 first), and keep
        its newest ``keep``; returns the number of the last one appended. Numbers are never reused while
        the log exists, whichever process appends."""
        ...

    def log_after(self, positions: Mapping[str, int]) -> dict[str, LogTail]:
        """For each log named, its newest number and the entries it still holds numbered after the
        position given (all it holds when the position fell out of it); one round trip on Redis for all."""
        ...

    def zadd(self, name: str, member: str, score: float) -> None: ...

    def zremove(self, name: str, *members: str) -> None: ...

    def zfirst(self, name: str) -> tuple[str, float] | None:
        """The member with the lowest score, and the score."""
        ...

    def zpop_upto(self, name: str, score: float, count: int = 1) -> list[tuple[str, float]]:
        """Take (atomically: no two callers get the same one) up to ``count`` members scored at most ``score``."""
        ...

    def zall(self, name: str) -> list[tuple[str, float]]: ...

    def admit(self, name: str, token: str, limit: int, lease: float) -> bool:
        """Hold one of ``limit`` places under ``token`` for at most ``lease`` seconds (a holder that dies
        gives its place back when the lease ends); False when all are held."""
        ...

    def release(self, name: str, token: str) -> None: ...

    def lock(self, name: str, timeout: float = 30.0) -> AbstractContextManager[None]:
        """Hold ``name`` exclusively (re-entrant within a thread); a dead holder's lock lapses after ``timeout``."""
        ...

    def prefetched(
        self, reads: Iterable[Read], writes: Iterable[Write] = ()
    ) -> AbstractContextManager[dict[Read, Any]]:
        """Read ``reads`` at once, then apply ``writes`` (one round trip on Redis), and yield what was read
        (before the writes). Until the block ends, this thread's reads of those names are answered from
        it (a written name answers what was written) — a request's snapshot of the state it reads every
        time. A write to a prefetched name inside the block makes its next read a real one."""
        ...

    def batch(self) -> AbstractContextManager[Batch]:
        """Operations ``add``ed to the yielded batch are sent together as the block ends (one round trip
        on Redis: a pipeline, not a transaction); then their results are in its ``results``."""
        ...

    def fresh(self) -> AbstractContextManager[None]:
        """For a state known to hold nothing yet (a sandbox being made): inside, this thread's ``get``,
        ``hget`` and ``hall`` answer from what ``put``, ``put_new`` and ``hput`` wrote inside, and those
        writes are sent together as the block ends (one round trip on Redis). Other operations go out
        at once, as always: use only the deferred ones on names the block writes."""
        ...

    def drop(self) -> None:
        """Forget everything (the sandbox is gone)."""
        ...


class MemoryState:
    """``State`` in this process's memory: dictionaries under one lock; expired entries go lazily."""

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
        self, reads: Iterable[Read], writes: Iterable[Write] = ()
    ) -> AbstractContextManager[dict[Read, Any]]:
        """Reads here cost nothing, so later ones are not answered from the snapshot."""
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
