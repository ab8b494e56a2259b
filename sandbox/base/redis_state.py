"""``State`` on Redis, for a fleet of processes sharing their sandboxes.

Every name is prefixed: ``sbx:{<sandbox id>}:s:`` for a sandbox (the braces are a Redis Cluster hash
tag, so all of one sandbox's keys live in one slot and a script may touch several of them) or
``fleet:`` for what the fleet itself keeps. Values are JSON (orjson). Each operation is one round
trip; the ones that read and write (``zpop_upto``, ``admit``, ``push`` with ``keep``, the numbered logs of
``redis_logs``) are Lua scripts, atomic against every other process.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import redis

from .redis_logs import RedisLogs
from .redis_prefetch import Prefetching, dump_value, load_hash, load_value, run_script
from .redis_state_scripts import ADMIT, BATCH, GIVE_BACK, POP_UPTO, PREFETCH, PUSH_KEEP, UNLOCK
from .state import Batch, LogTail, Read


def sandbox_prefix(sandbox_id: str) -> str:
    """The prefix of a sandbox's state keys: its hash tag (shared with its records, ``redis_store``) and
    ``s:``, apart from the record store's own names."""
    return "sbx:{" + sandbox_id + "}:s:"


class RedisState(Prefetching):
    """A ``State`` whose names live under ``prefix`` on the Redis server of ``client``."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        # redis-py types every reply as "awaitable or value" (one client class for both); ours is sync.
        self.client: Any = client
        self.prefix = prefix
        self._pop_upto = client.register_script(POP_UPTO)
        self._admit = client.register_script(ADMIT)
        self._push_keep = client.register_script(PUSH_KEEP)
        self._unlock = client.register_script(UNLOCK)
        self._prefetch = client.register_script(PREFETCH)
        self._give_back_script = client.register_script(GIVE_BACK)
        self._batch = client.register_script(BATCH)
        self._logs = RedisLogs(client, self.key)
        self._held = threading.local()
        self._local = threading.local()  # this thread's prefetched reads (``prefetched``)
        self.always_prefetched: list[Read] = []  # read by every ``prefetched`` block too (``remembered``)

    def _remembered(self, read: Read, fetch: Callable[[], Any]) -> Any:
        memo = self._memo()
        if memo is not None and read in memo:
            return memo[read]
        if memo is not None and read[0] == "hget" and ("hall", read[1]) in memo:
            return memo[("hall", read[1])].get(read[2])
        if self._deferred() is not None:  # fresh: what was not written inside does not exist
            return {} if read[0] == "hall" else None
        return fetch()

    # A fresh state ----------------------------------------------------------------------------------

    def _deferred(self) -> list[tuple[str, tuple[Any, ...]]] | None:
        deferred: list[tuple[str, tuple[Any, ...]]] | None = getattr(self._local, "deferred", None)
        return deferred

    @contextmanager
    def fresh(self) -> Iterator[None]:
        outer, self._local.deferred = self._memo(), []
        self._local.memo = {}
        try:
            yield
            with self.batch() as batch:
                for operation, args in self._local.deferred:
                    batch.add(operation, *args)
        finally:
            self._local.deferred, self._local.memo = None, outer

    def _defer(self, operation: str, *args: Any) -> bool:
        """In ``fresh``: note the write and what reads of it answer now; True if it was deferred."""
        deferred, memo = self._deferred(), self._memo()
        if deferred is None or memo is None:
            return False
        deferred.append((operation, args))
        if operation == "put":
            memo[("get", args[0])] = args[1]
        else:  # hput
            name, field, value = args
            memo[("hall", name)] = {**memo.get(("hall", name), {}), field: value}
            memo[("hget", name, field)] = value
        return True

    # Batches ----------------------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        batch = Batch()
        yield batch
        if not batch.calls:
            return
        keys: list[str] = []
        args: list[Any] = []
        returns: list[bool] = []  # whether each operation's result is its count (else None)
        for operation, call in batch.calls:
            returns.append(getattr(self, "_stage_" + operation)(keys, args, *call))
        replies = run_script(self.client, self._batch, keys, args)
        failed = next((raw for raw in replies if isinstance(raw, Exception)), None)
        if failed is not None:  # the others were made, as a pipeline's would be
            raise failed
        batch.results = [int(raw) if counted else None for counted, raw in zip(returns, replies, strict=True)]

    def _stage_put(self, keys: list[str], args: list[Any], name: str, value: Any, ttl: float | None = None) -> bool:
        self._forget(name)
        keys.append(self.key(name))
        args += ["put", dump_value(value), "" if ttl is None else int(ttl * 1000)]
        return False

    def _stage_remove(self, keys: list[str], args: list[Any], *names: str) -> bool:
        for name in names:
            self._forget(name)
        keys.extend(self.key(name) for name in names)
        args += ["remove", len(names)]
        return False

    def _stage_incr(
        self, keys: list[str], args: list[Any], name: str, amount: int = 1, ttl: float | None = None
    ) -> bool:
        self._forget(name)
        keys.append(self.key(name))
        args += ["incr", amount, "" if ttl is None else int(ttl * 1000)]
        return True

    def _stage_hput(self, keys: list[str], args: list[Any], name: str, field: str, value: Any) -> bool:
        self._forget(name)
        keys.append(self.key(name))
        args += ["hput", field, dump_value(value)]
        return False

    def _stage_hincr(self, keys: list[str], args: list[Any], name: str, field: str, amount: int = 1) -> bool:
        self._forget(name)
        keys.append(self.key(name))
        args += ["hincr", field, amount]
        return True

    def _stage_hremove(self, keys: list[str], args: list[Any], name: str, *fields: str) -> bool:
        self._forget(name)
        keys.append(self.key(name))
        args += ["hremove", len(fields), *fields]
        return False

    def _stage_zadd(self, keys: list[str], args: list[Any], name: str, member: str, score: float) -> bool:
        keys.append(self.key(name))
        args += ["zadd", member, repr(float(score))]
        return False

    def _stage_push_sized(
        self, keys: list[str], args: list[Any], name: str, value: Any, size: int, keep: int | None, tally: str
    ) -> bool:
        self._forget(name)
        self._forget(tally)
        keys += [self.key(name), self.key(tally)]
        args += ["push_sized", dump_value([size, value]), size, -1 if keep is None else keep, name]
        return True

    # values -----------------------------------------------------------------------------------------

    def get(self, name: str) -> Any:
        return self._remembered(("get", name), lambda: load_value(self.client.get(self.key(name))))

    def put(self, name: str, value: Any, ttl: float | None = None) -> None:
        if self._defer("put", name, value, ttl):
            return
        self._forget(name)
        self.client.set(self.key(name), dump_value(value), px=None if ttl is None else int(ttl * 1000))

    def put_new(self, name: str, value: Any) -> bool:
        memo = self._memo()
        if self._deferred() is not None and memo is not None:
            return ("get", name) not in memo and self._defer("put", name, value, None)
        self._forget(name)
        return bool(self.client.set(self.key(name), dump_value(value), nx=True))

    def remove(self, *names: str) -> None:
        for name in names:
            self._forget(name)
        if names:
            self.client.delete(*(self.key(name) for name in names))

    def incr(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        self._forget(name)
        spent: dict[str, int] | None = getattr(self._local, "spent", None)
        if spent and amount == 1 and name in spent:  # counted with the block's prefetch (``spends``)
            return spent.pop(name)
        key = self.key(name)
        if ttl is None:
            return int(self.client.incrby(key, amount))
        with self.client.pipeline(transaction=True) as pipe:
            pipe.incrby(key, amount)
            pipe.pexpire(key, int(ttl * 1000))
            value, _ = pipe.execute()
        return int(value)

    def hget(self, name: str, field: str) -> Any:
        return self._remembered(("hget", name, field), lambda: load_value(self.client.hget(self.key(name), field)))

    def hput(self, name: str, field: str, value: Any) -> None:
        if self._defer("hput", name, field, value):
            return
        self._forget(name)
        self.client.hset(self.key(name), field, dump_value(value))

    def hremove(self, name: str, *fields: str) -> None:
        self._forget(name)
        if fields:
            self.client.hdel(self.key(name), *fields)

    def hall(self, name: str) -> dict[str, Any]:
        return dict(self._remembered(("hall", name), lambda: load_hash(self.client.hgetall(self.key(name)))))

    def hincr(self, name: str, field: str, amount: int = 1) -> int:
        self._forget(name)
        return int(self.client.hincrby(self.key(name), field, amount))

    def push(self, name: str, value: Any, keep: int | None = None) -> list[Any]:
        if keep is None:
            self.client.rpush(self.key(name), dump_value(value))
            return []
        return [load_value(raw) for raw in self._push_keep(keys=[self.key(name)], args=[dump_value(value), keep]) or []]

    def items(self, name: str) -> list[Any]:
        return [load_value(raw) for raw in self.client.lrange(self.key(name), 0, -1)]

    def push_sized(self, name: str, value: Any, size: int, keep: int | None, tally: str) -> int:
        with self.batch() as batch:  # the batch script's own step
            batch.add("push_sized", name, value, size, keep, tally)
        return int(batch.results[0])

    def pop_oldest(self, name: str) -> Any:
        return load_value(self.client.lpop(self.key(name)))

    def length(self, name: str) -> int:
        return int(self.client.llen(self.key(name)))

    def hlength(self, name: str) -> int:
        return int(self.client.hlen(self.key(name)))

    def log_append(self, name: str, values: list[Any], keep: int) -> int:
        return self._logs.append(name, values, keep)

    def log_after(self, positions: Mapping[str, int]) -> dict[str, LogTail]:
        return self._logs.after(positions)

    def zadd(self, name: str, member: str, score: float) -> None:
        self.client.zadd(self.key(name), {member: score})

    def zremove(self, name: str, *members: str) -> None:
        if members:
            self.client.zrem(self.key(name), *members)

    def zfirst(self, name: str) -> tuple[str, float] | None:
        first = self.client.zrange(self.key(name), 0, 0, withscores=True)
        return (first[0][0].decode(), float(first[0][1])) if first else None

    def zpop_upto(self, name: str, score: float, count: int = 1) -> list[tuple[str, float]]:
        flat = self._pop_upto(keys=[self.key(name)], args=[repr(score), count]) or []
        return [(flat[i].decode(), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    def zall(self, name: str) -> list[tuple[str, float]]:
        return [
            (member.decode(), float(score))
            for member, score in self.client.zrange(self.key(name), 0, -1, withscores=True)
        ]

    def admit(self, name: str, token: str, limit: int, lease: float) -> bool:
        return bool(self._admit(keys=[self.key(name)], args=[token, limit, lease]))

    def release(self, name: str, token: str) -> None:
        self.client.zrem(self.key(name), token)

    @contextmanager
    def lock(self, name: str, timeout: float = 30.0) -> Iterator[None]:
        """A lock across processes: SET NX PX with a random token, released only by its holder."""
        held: dict[str, int] = self._held.__dict__.setdefault("depth", {})
        if held.get(name):
            held[name] += 1
            try:
                yield
            finally:
                held[name] -= 1
            return
        key, token = self.key(f"lock:{name}"), uuid.uuid4().hex
        wait = 0.001
        while not self.client.set(key, token, nx=True, px=int(timeout * 1000)):
            threading.Event().wait(wait)
            wait = min(wait * 2, 0.05)
        held[name] = 1
        try:
            yield
        finally:
            held[name] = 0
            self._unlock(keys=[key], args=[token])

    def drop(self) -> None:
        """Delete every key under the prefix."""
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=self.prefix + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)
