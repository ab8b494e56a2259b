"""Numbered logs on Redis (``State.log_append`` / ``log_after``), for ``RedisState``.

A log is a list and its counter, side by side under the State's prefix (``<name>`` and ``<name>:n``):
the counter is the number of the newest entry, the list holds the newest ``keep`` entries, so an
entry's number follows from its position (the list's last is the counter's). Appending and reading
are each one Lua step, so every process numbers entries in one order and reads them without a hole;
reading several logs pipelines their steps, one round trip for all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
import redis

from .state import LogTail

_APPEND = """
local n = redis.call('INCRBY', KEYS[2], #ARGV - 1)
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
return n
"""
_AFTER = """
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
local after = tonumber(ARGV[1])
if after >= n then return {n, {}} end
local held = redis.call('LLEN', KEYS[1])
local first = n - held + 1
return {n, redis.call('LRANGE', KEYS[1], math.max(after + 1, first) - first, -1)}
"""


class RedisLogs:
    """The numbered logs of one ``RedisState`` (``key`` prefixes a name)."""

    def __init__(self, client: Any, key: Callable[[str], str]) -> None:
        self.client, self.key = client, key
        self._append = client.register_script(_APPEND)
        self._after = client.register_script(_AFTER)

    def _keys(self, name: str) -> list[str]:
        return [self.key(name), self.key(name + ":n")]

    def append(self, name: str, values: list[Any], keep: int) -> int:
        if not values:
            raise ValueError("log_append needs at least one value")
        return int(self._append(keys=self._keys(name), args=[max(1, keep), *map(orjson.dumps, values)]))

    def after(self, positions: Mapping[str, int]) -> dict[str, LogTail]:
        names = list(positions)
        if len(names) == 1:
            replies = [self._after(keys=self._keys(names[0]), args=[positions[names[0]]])]
        else:
            # EVALSHA by hand in one pipeline (a Script in a pipeline costs a SCRIPT EXISTS round trip).
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.evalsha(self._after.sha, 2, *self._keys(name), positions[name])
            replies = pipe.execute(raise_on_error=False)
            for index, reply in enumerate(replies):
                if isinstance(reply, redis.exceptions.NoScriptError):  # Redis restarted or flushed its scripts
                    replies[index] = self._after(keys=self._keys(names[index]), args=[positions[names[index]]])
                elif isinstance(reply, Exception):
                    raise reply
        tails: dict[str, LogTail] = {}
        for name, (newest, held) in zip(names, replies, strict=True):
            first = int(newest) - len(held) + 1
            tails[name] = (int(newest), [(first + index, orjson.loads(raw)) for index, raw in enumerate(held)])
        return tails
