"""A request's prefetched reads of a sandbox's state on Redis (``State.prefetched``): one script of
the reads every request makes, the writes that go with them and the rate-limit counts it will most
likely make (``spends``), remembered for the rest of the block on the thread that made them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import hiredis
import orjson
import redis

from .state import Read, Spend, Write

logger = logging.getLogger("sandbox.store")


def dump_value(value: Any) -> bytes:
    return orjson.dumps(value)


def load_value(raw: bytes | None) -> Any:
    return None if raw is None else orjson.loads(raw)


def run_script(client: Any, script: Any, keys: list[str], args: list[Any]) -> Any:
    """``script`` by its SHA, loaded on a NOSCRIPT (a Redis restarted or flushed): redis-py's
    ``Script.__call__`` does the same with more work per call, on every request's hot path."""
    try:
        return _evalsha(client, script.sha, keys, args)
    except redis.exceptions.NoScriptError:
        return script(keys=keys, args=args)


def _evalsha(client: Any, sha: str, keys: list[str], args: list[Any]) -> Any:
    """EVALSHA on a connection of the client's pool, packed by hiredis and sent and read straight: what
    ``execute_command`` does for a single Redis (no retries are configured) without its per-call
    bookkeeping (a retry wrapper, closures, observability hooks, the packer's per-argument checks),
    some 15 µs a call. A Redis Cluster client routes it."""
    if type(client) is not redis.Redis:
        return client.evalsha(sha, len(keys), *keys, *args)
    pool = client.connection_pool
    connection: Any = pool.get_connection()
    try:
        connection.send_packed_command([hiredis.pack_command(("EVALSHA", sha, len(keys), *keys, *args))])
        return connection.read_response()
    except (redis.ConnectionError, redis.TimeoutError):
        connection.disconnect()  # as redis-py does: the next command connects again
        raise
    finally:
        pool.release(connection)


def load_hash(raw: dict[bytes, bytes]) -> dict[str, Any]:
    return {field.decode(): orjson.loads(value) for field, value in raw.items()}


def load_pairs(raw: list[bytes]) -> dict[str, Any]:
    """A hash as a script returns it: field, value, field, value …"""
    return {raw[i].decode(): orjson.loads(raw[i + 1]) for i in range(0, len(raw), 2)}


class Prefetching:
    """The prefetch half of ``RedisState`` (a base class of it): ``client``, ``prefix``, ``_local`` (a
    ``threading.local``), ``_prefetch`` and ``_give_back_script`` are the state's."""

    client: Any
    prefix: str
    _local: threading.local
    _prefetch: Any  # the registered PREFETCH script
    _give_back_script: Any  # and GIVE_BACK
    always_prefetched: list[Read]  # read by every ``prefetched`` block too (``remembered``)
    remote = True

    def key(self, name: str) -> str:
        return self.prefix + name

    def _memo(self) -> dict[Read, Any] | None:
        memo: dict[Read, Any] | None = getattr(self._local, "memo", None)
        return memo

    def _forget(self, name: str) -> None:
        """A write to ``name``: its prefetched reads are stale now."""
        memo = self._memo()
        if memo:
            for read in [read for read in memo if read[1] == name]:
                del memo[read]

    @contextmanager
    def prefetched(
        self, reads: Iterable[Read], writes: Iterable[Write] = (), spends: Iterable[Spend] = ()
    ) -> Iterator[dict[Read, Any]]:
        reads, writes, spends = list(reads), list(writes), list(spends)
        outer, outer_spent = self._memo(), getattr(self._local, "spent", None)
        wanted = [read for read in [*reads, *self.always_prefetched] if outer is None or read not in outer]
        keys: list[str] = []
        args: list[Any] = []
        for read in wanted:
            if read[0] not in ("get", "hget", "hall"):
                raise ValueError(f"cannot prefetch {read!r}")
            keys.append(self.key(read[1]))
            args += [read[0], read[2] if read[0] == "hget" else ""]
        for _, name, value in writes:
            keys.append(self.key(name))
            args += ["put", dump_value(value)]
        for name, ttl in spends:
            keys.append(self.key(name))
            args += ["spend", int(ttl * 1000)]
        # One script, not a pipeline of a command per read: redis-py's cost is per command (packing,
        # parsing, bookkeeping). All the names share the state's prefix, so one Redis Cluster slot, and
        # as it is no pipeline a cluster runs it too (its client refuses scripts in a pipeline).
        replies = run_script(self.client, self._prefetch, keys, args) if keys else []
        counted = replies[len(wanted) + len(writes) :]
        spent = {name: int(count) for (name, _), count in zip(spends, counted, strict=True)}
        memo = dict(outer or {})
        for read, raw in zip(wanted, replies, strict=False):
            memo[read] = load_pairs(raw) if read[0] == "hall" else load_value(raw)
        got = {read: memo[read] for read in reads}
        for _, name, value in writes:
            memo = {read: value for read, value in memo.items() if read[1] != name}
            memo[("get", name)] = value
        self._local.memo, self._local.spent = memo, spent
        outer_fetched_at, self._local.fetched_at = getattr(self._local, "fetched_at", 0.0), time.monotonic()
        try:
            yield got
        finally:
            self._local.memo, self._local.spent, self._local.fetched_at = outer, outer_spent, outer_fetched_at
            if spent:  # counted ahead and not asked for (the guess was wrong, or the request ended early)
                self._give_back(list(spent))

    def _give_back(self, names: list[str]) -> None:
        try:
            for name in names:  # one at a time: a Redis Cluster client refuses scripts in a pipeline
                self._give_back_script(keys=[self.key(name)], args=[1])
        except redis.RedisError as error:  # the window over-counts one request: no reason to fail this one
            logger.warning("giving back %d counted-ahead request(s) failed: %s", len(names), error)

    def remembered(self, read: Read, within: float | None = None) -> tuple[bool, Any]:
        """Whether this thread's open ``prefetched`` block holds ``read`` (read at most ``within`` seconds
        ago, when given), and its value; no round trip."""
        memo = self._memo()
        if memo is None or read not in memo:
            return False, None
        if within is not None and time.monotonic() - getattr(self._local, "fetched_at", 0.0) > within:
            return False, None
        return True, memo[read]
