"""Numbered logs on Redis (``State.log_append`` / ``log_after``), for ``RedisState``.

A log is a list and its counter, side by side under the State's prefix (``<name>`` and ``<name>:n``):
the counter is the number of the newest entry, the list holds the newest ``keep`` entries, so an
entry's number follows from its position (the list's last is the counter's). Appending and reading
are each one Lua step, so every process numbers entries in one order and reads them without a hole;
one step reads several logs (of one sandbox: their keys share its hash tag, so a Redis Cluster takes it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from .state import LogTail

_APPEND = """
local n = redis.call('INCRBY', KEYS[2], #ARGV - 1)
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
return n
"""
_AFTER = """
local tails = {}
for i = 1, #ARGV do
  local n = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  local after = tonumber(ARGV[i])
  local held = {}
  if after < n then
    local first = n - redis.call('LLEN', KEYS[2 * i - 1]) + 1
    held = redis.call('LRANGE', KEYS[2 * i - 1], math.max(after + 1, first) - first, -1)
  end
  tails[2 * i - 1] = n
  tails[2 * i] = held
end
return tails
"""


def log_names(name: str) -> tuple[str, str]:
    """The state names of a log's list and of its counter."""
    return name, name + ":n"


SCRIPTS = (_APPEND, _AFTER)  # for ``redis_scripts.preload``


class RedisLogs:
    """The numbered logs of one ``RedisState`` (``key`` prefixes a name)."""

    def __init__(self, client: Any, key: Callable[[str], str]) -> None:
        self.client, self.key = client, key
        self._append = client.register_script(_APPEND)
        self._after = client.register_script(_AFTER)

    def _keys(self, name: str) -> list[str]:
        return [self.key(part) for part in log_names(name)]

    def append(self, name: str, values: list[Any], keep: int) -> int:
        if not values:
            raise ValueError("log_append needs at least one value")
        return int(self._append(keys=self._keys(name), args=[max(1, keep), *map(orjson.dumps, values)]))

    def after(self, positions: Mapping[str, int]) -> dict[str, LogTail]:
        names = list(positions)
        # One script for all (their keys share the sandbox's hash tag, so a Redis Cluster runs it too).
        flat = self._after(
            keys=[key for name in names for key in self._keys(name)], args=[positions[name] for name in names]
        )
        tails: dict[str, LogTail] = {}
        for index, name in enumerate(names):
            newest, held = int(flat[2 * index]), flat[2 * index + 1]
            first = newest - len(held) + 1
            tails[name] = (newest, [(first + number, orjson.loads(raw)) for number, raw in enumerate(held)])
        return tails
