"""One sandbox's Redis connection, lock and transactions, under ``RedisOverlayStore`` (``redis_store.py``
describes what they guarantee): the thread's open ``Pending`` buffer, the reads that take the lock on
a transaction's first round trip, the one-script commit, and the sandbox's keys as a whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from redis import Redis
from redis.cluster import RedisCluster

from .redis_lock import RENEWER, Held, LockLost, LockSettings, new_token, release, wait_for
from .redis_logs import log_names
from .redis_pending import Pending
from .redis_scripts import Keys, scripts, text

CACHED_READS = frozenset({"page", "get"})  # the read scripts a request's records come from
CACHE_ENTRIES = 256  # read results one sandbox keeps per process (all dropped when full)
Version = Callable[[], tuple[bool, Any]]  # (known, value) of the records' version, as this request read it


def unknown_version() -> tuple[bool, Any]:
    return False, None


class SandboxGone(LookupError):
    """The sandbox was deleted (by another request, maybe in another process) before the commit."""


class RedisTransactions:
    """A sandbox's keys in one Redis (or Redis Cluster), and ``transaction()`` over them.

    Reads outside a transaction may be answered from what this process read before: ``version`` says
    which records' version (``Keys.version``, bumped by every commit that changes them) the current
    request saw when it began (the sandbox's state prefetch reads it); a result kept under that same
    version is still what Redis holds. A result is kept under the version seen *before* it was read,
    so it is never older than its label: a commit between the two just makes the next request read
    again. A commit through this instance retires everything kept before it at once (a request that
    began earlier, on any thread, then reads its writes). Without a known version every read goes to
    Redis.
    """

    def __init__(
        self,
        redis: Redis | RedisCluster,
        sandbox_id: str,
        lock: LockSettings | None = None,
        version: Version = unknown_version,
        alive: str | None = None,
    ) -> None:
        if redis.get_encoder().decode_responses:
            raise ValueError("the sandbox's Redis keys hold bytes: give a connection without decode_responses")
        self.sandbox_id, self.keys = sandbox_id, Keys(sandbox_id)
        self._redis, self._scripts = redis, scripts(redis)
        self._lock = lock or LockSettings()
        self._mutex = threading.RLock()  # this instance's threads queue here before asking Redis for the lock
        self._local = threading.local()
        self._version = version
        # a state name of the sandbox that exists while it lives: a commit after it is gone (the sandbox
        # deleted by another request meanwhile) writes nothing and raises ``SandboxGone``
        self._alive = None if alive is None else self.keys.state(alive)
        self._read_cache: dict[tuple[Any, ...], tuple[Any, int, list[Any]]] = {}
        self._commits = 0  # commits this instance sent: a read kept before one of them is not used again

    def _tx(self) -> Pending | None:
        tx: Pending | None = getattr(self._local, "tx", None)
        return tx

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make several reads and writes one atomic step across every process (re-entrant); what
        ``after_commit`` registered inside runs once the outermost block's writes are stored."""
        tx = self._tx()
        if tx is not None:
            tx.depth += 1
            try:
                yield
            finally:
                tx.depth -= 1
            return
        with self._mutex:
            tx = self._local.tx = Pending(new_token())
            try:
                yield
                self._commit(tx)
            except BaseException:
                self._let_go(tx)
                raise
            finally:
                self._local.tx = None
        for callback in tx.callbacks:
            callback()

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once what this thread is writing is stored: at the end of its transaction,
        or now outside one."""
        tx = self._tx()
        if tx is None:
            callback()
        else:
            tx.callbacks.append(callback)

    def stage(self, ops: list[tuple[Any, ...]]) -> bool:
        """Write ``ops`` (``("XADD", stream, group, field, value)``: an entry, its consumer group made
        if missing; ``("COUNT", hash, field, delta)``) in the commit of this thread's open transaction,
        in the same atomic step as its records; False outside a transaction. The keys must share the
        sandbox's hash tag; they are not the store's (a reset leaves them alone)."""
        tx = self._tx()
        if tx is None:
            return False
        tx.staged += ops
        return True

    def count_on_commit(self, name: str, amount: int, ttl: float) -> bool:
        """The state counter's INCRBY and PEXPIRE go into the commit's ``APPLY`` (``TALLY``): no round trip
        of their own, and counted only if the records are stored."""
        return self.stage([("TALLY", self.keys.state(name), amount, int(ttl * 1000))])

    def log_on_commit(self, name: str, value: Any, keep: int) -> Callable[[], int] | None:
        """Append ``value`` to the state's numbered log ``name`` (``State.log_append``) in the commit's
        ``APPLY``: the entry exists if and only if the records do. Returns what tells its number once
        committed (in an ``after_commit`` callback), or None outside a transaction."""
        tx = self._tx()
        if tx is None:
            return None
        position = sum(1 for op in tx.staged if op[0] == "LOG")
        list_key, counter_key = (self.keys.state(key) for key in log_names(name))
        self.stage([("LOG", list_key, counter_key, max(1, keep), orjson.dumps(value))])
        return lambda: tx.logged[position]

    def _hold(self, tx: Pending) -> None:
        tx.held = Held(self._redis, self.keys.lock, tx.token, self._lock.ttl_ms)
        RENEWER.hold(tx.held)

    def _let_go(self, tx: Pending) -> None:
        if tx.held is not None:
            held, tx.held = tx.held, None
            try:
                release(self._redis, held)
            except Exception:  # the lock expires by itself; the error being raised matters more
                pass

    def _read(self, name: str, keys: list[str], args: list[Any]) -> list[Any]:
        """Run a read script; inside a transaction that holds no lock yet, it takes the lock too."""
        script, keys = self._scripts[name], [self.keys.lock, *keys]
        tx = self._tx()
        if tx is None and name in CACHED_READS:
            return self._cached_read(name, keys, args)
        if tx is None or tx.held is not None:
            result: list[Any] = script(keys, [b"", 0, *args])
            return result[1:]

        def attempt() -> list[Any] | None:
            answer: list[Any] = script(keys, [tx.token, self._lock.ttl_ms, *args])
            return answer if answer[0] else None

        result = wait_for(attempt, self._lock, f"sandbox {self.sandbox_id}")
        self._hold(tx)
        return result[1:]

    def _cached_read(self, name: str, keys: list[str], args: list[Any]) -> list[Any]:
        script = self._scripts[name]
        known, version = self._version()
        if not known:
            result: list[Any] = script(keys, [b"", 0, *args])
            return result[1:]
        cache_key = (name, *keys, *args)
        kept, commits = self._read_cache.get(cache_key), self._commits
        if kept is not None and kept[0] == version and kept[1] == commits:
            return kept[2]
        result = script(keys, [b"", 0, *args])[1:]
        if len(self._read_cache) >= CACHE_ENTRIES:
            self._read_cache.clear()
        self._read_cache[cache_key] = (version, commits, result)
        return result

    def _commit(self, tx: Pending) -> None:
        if tx.empty:
            self._let_go(tx)
            return
        # What was kept before is older than this write, and requests that began before it still
        # hold the old version: they read again (including this thread's, reading its own write).
        self._commits += 1
        keys, args, checked = tx.program(self.keys, self._alive)
        while True:
            token = tx.token if tx.held is not None else ""
            status, *rest = self._scripts["apply"](keys, [token, 1 if tx.held is not None else 0, *args])
            if status == b"locked":  # a transaction that read nothing met another holder: wait for the lock
                wait_for(
                    lambda: self._redis.set(self.keys.lock, tx.token, nx=True, px=self._lock.ttl_ms) or None,
                    self._lock,
                    f"sandbox {self.sandbox_id}",
                )
                self._hold(tx)
                continue
            if tx.held is not None:  # released by the script (or lost)
                RENEWER.drop(tx.held)
                tx.held = None
            if status == b"lost":
                raise LockLost(
                    f"sandbox {self.sandbox_id}: the transaction's lock expired before its commit; "
                    "nothing of it was written"
                )
            if status == b"gone":
                raise SandboxGone(
                    f"sandbox {self.sandbox_id} was deleted before this commit; nothing of it was written"
                )
            if status == b"exists":
                entry = checked[int(rest[0]) - 1]
                raise KeyError(f"{entry.kind} {entry.record_id} already exists")
            tx.logged = [int(number) for number in rest]
            return

    # The sandbox's keys as a whole ------------------------------------------------------------------

    def _registered(self) -> list[str]:
        listed: set[bytes] = self._redis.smembers(self.keys.registry)  # type: ignore[assignment]
        return sorted(text(name) for name in listed)

    def drop(self) -> None:
        """Delete every key of this sandbox (it was deleted or expired)."""

        def attempt() -> bool | None:
            registered = self._registered()
            return True if self._scripts["drop"]([self.keys.registry, self.keys.lock, *registered], []) else None

        wait_for(attempt, self._lock, f"dropping sandbox {self.sandbox_id}")
        self._redis.delete(self.keys.version)  # outside the registry (a reset keeps it): gone with the sandbox

    def memory_usage(self) -> int:
        """The bytes this sandbox's keys take in Redis (MEMORY USAGE, every element counted)."""
        names = [self.keys.registry, *self._registered()]
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.memory_usage(name, samples=0)
        return sum(int(used or 0) for used in pipe.execute())
