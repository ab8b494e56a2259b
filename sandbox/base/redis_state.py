"""``State`` on Redis, for a fleet of processes sharing their sandboxes.

Every name is prefixed: ``sbx:{<sandbox id>}:s:`` for a sandbox (the braces are a Redis Cluster hash
tag, so all of one sandbox's keys live in one slot and a script may touch several of them) or
``fleet:`` for what the fleet itself keeps. Values are JSON (orjson). Each operation is one round
trip; the ones that read and write (``zpop_upto``, ``admit``, ``push`` with ``keep``) are Lua scripts,
atomic against every other process.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import redis

_POP_UPTO = """
local taken = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #taken, 2 do redis.call('ZREM', KEYS[1], taken[i]) end
return taken
"""
_ADMIT = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
return 1
"""
_PUSH_KEEP = """
redis.call('RPUSH', KEYS[1], ARGV[1])
local extra = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[2])
if extra > 0 then return redis.call('LPOP', KEYS[1], extra) end
return {}
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def sandbox_prefix(sandbox_id: str) -> str:
    """The prefix of a sandbox's state keys: its hash tag (shared with its records, ``redis_store``) and
    ``s:``, apart from the record store's own names."""
    return "sbx:{" + sandbox_id + "}:s:"


def _dump(value: Any) -> bytes:
    return orjson.dumps(value)


def _load(raw: bytes | None) -> Any:
    return None if raw is None else orjson.loads(raw)


class RedisState:
    """A ``State`` whose names live under ``prefix`` on the Redis server of ``client``."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        # redis-py types every reply as "awaitable or value" (one client class for both); ours is sync.
        self.client: Any = client
        self.prefix = prefix
        self._pop_upto = client.register_script(_POP_UPTO)
        self._admit = client.register_script(_ADMIT)
        self._push_keep = client.register_script(_PUSH_KEEP)
        self._unlock = client.register_script(_UNLOCK)
        self._held = threading.local()

    def key(self, name: str) -> str:
        return self.prefix + name

    def get(self, name: str) -> Any:
        return _load(self.client.get(self.key(name)))

    def put(self, name: str, value: Any, ttl: float | None = None) -> None:
        self.client.set(self.key(name), _dump(value), px=None if ttl is None else int(ttl * 1000))

    def put_new(self, name: str, value: Any) -> bool:
        return bool(self.client.set(self.key(name), _dump(value), nx=True))

    def remove(self, *names: str) -> None:
        if names:
            self.client.delete(*(self.key(name) for name in names))

    def incr(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        key = self.key(name)
        if ttl is None:
            return int(self.client.incrby(key, amount))
        with self.client.pipeline(transaction=True) as pipe:
            pipe.incrby(key, amount)
            pipe.pexpire(key, int(ttl * 1000))
            value, _ = pipe.execute()
        return int(value)

    def hget(self, name: str, field: str) -> Any:
        return _load(self.client.hget(self.key(name), field))

    def hput(self, name: str, field: str, value: Any) -> None:
        self.client.hset(self.key(name), field, _dump(value))

    def hremove(self, name: str, *fields: str) -> None:
        if fields:
            self.client.hdel(self.key(name), *fields)

    def hall(self, name: str) -> dict[str, Any]:
        return {field.decode(): _load(value) for field, value in self.client.hgetall(self.key(name)).items()}

    def hincr(self, name: str, field: str, amount: int = 1) -> int:
        return int(self.client.hincrby(self.key(name), field, amount))

    def push(self, name: str, value: Any, keep: int | None = None) -> list[Any]:
        if keep is None:
            self.client.rpush(self.key(name), _dump(value))
            return []
        return [_load(raw) for raw in self._push_keep(keys=[self.key(name)], args=[_dump(value), keep]) or []]

    def items(self, name: str) -> list[Any]:
        return [_load(raw) for raw in self.client.lrange(self.key(name), 0, -1)]

    def pop_oldest(self, name: str) -> Any:
        return _load(self.client.lpop(self.key(name)))

    def length(self, name: str) -> int:
        return int(self.client.llen(self.key(name)))

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
        return [(member.decode(), float(score)) for member, score in
                self.client.zrange(self.key(name), 0, -1, withscores=True)]

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
