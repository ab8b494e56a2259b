"""The small state of one sandbox that is not records: counters, windows, lists, timers, locks.

Services keep their state through a ``State`` — the journal, rate-limit windows, quotas, scenario
fault counters and runs, delivery bookkeeping, keys, the clock and its timers — so the same service
code runs in one process (``memory_state.MemoryState``, the embedded default) and in a fleet of processes sharing
Redis (``base/redis_state.py``). A ``State`` is scoped to one sandbox (or to the fleet's own keys);
names are plain strings, values anything JSON can carry, and callers treat what they read as
read-only. The operations are the few the services need, each atomic on its own; ``lock`` makes a
sequence of them one step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

# A read a request makes every time: ("get", name), ("hget", name, field) or ("hall", name).
Read = tuple[str, ...]
# A write sent with those reads: ("put", name, value).
Write = tuple[str, str, Any]
# A counter a request will probably add one to, with its ttl in seconds: (name, ttl).
Spend = tuple[str, float]
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

    remote: bool  # reads cost a round trip (Redis): prefetching what every request reads pays

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
        self, reads: Iterable[Read], writes: Iterable[Write] = (), spends: Iterable[Spend] = ()
    ) -> AbstractContextManager[dict[Read, Any]]:
        """Read ``reads`` at once, then apply ``writes`` (one round trip on Redis), and yield what was read
        (before the writes). Until the block ends, this thread's reads of those names are answered from
        it (a written name answers what was written) — a request's snapshot of the state it reads every
        time. A write to a prefetched name inside the block makes its next read a real one.

        ``spends`` are counters (name, ttl) the block will probably ``incr`` by one with that ttl (a
        rate-limit window): a store with round trips counts them in the same one and answers that
        ``incr`` with the count; a spend the block did not ask for is given back as it ends."""
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
