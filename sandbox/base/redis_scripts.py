"""The Redis side of ``RedisOverlayStore``: its key layout, how records and positions are encoded, and
the Lua scripts that make each read and each commit one atomic round trip.

Every key of a sandbox shares the hash tag ``{<sandbox id>}``, so one sandbox lives in one Redis
Cluster slot, and every script names all the keys it touches in ``KEYS`` (the first is always the
sandbox's lock key, which routes the call in a cluster).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import orjson

from . import redis_logs, redis_state_scripts
from .redis_state import sandbox_prefix
from .store import Position, Record

STORE_VERSION = "store-version"  # the state name of the records' version (``Keys.version``)

SEPARATOR = "\x00"  # between created_at and id in a sorted-set member: sorts below every character


class Keys:
    """The names of one sandbox's keys (``sbx:{<id>}:…``)."""

    def __init__(self, sandbox_id: str) -> None:
        if not sandbox_id or "{" in sandbox_id or "}" in sandbox_id:
            raise ValueError(f"a sandbox id names a hash tag: no braces, not empty (got {sandbox_id!r})")
        self.prefix = f"sbx:{{{sandbox_id}}}:"
        self.lock = self.prefix + "lock"  # the transaction lock (SET NX PX, random token)
        self.registry = self.prefix + "keys"  # SET: every data key below that exists or did
        self.counters = self.prefix + "n"  # HASH: added:<kind> (records added), changed (overlay size)
        self.written_prefix = self.prefix + "w:"
        self.state_prefix = sandbox_prefix(sandbox_id)  # where the sandbox's ``RedisState`` keeps its names
        # STRING: bumped by every commit that changes records, so a process may keep what it read until
        # the number moves (``RedisTransactions``'s read cache). A name of the sandbox's state (its
        # ``RedisState``), not of the store: a reset leaves it, the sandbox's deletion takes it.
        self.version = self.state(STORE_VERSION)

    def state(self, name: str) -> str:
        """The key of the sandbox's state name ``name``."""
        return self.state_prefix + name

    def written(self, kind: str) -> str:
        """HASH id -> record JSON (inserted or replaced), or "" for a deleted seeded record (tombstone)."""
        return self.written_prefix + kind

    def inserted(self, kind: str, org_id: str) -> str:
        """ZSET (score 0) of "created_at\\0id" members: the records this sandbox added, in keyset order."""
        return f"{self.prefix}i:{kind}:{org_id}"

    def replaced(self, kind: str, org_id: str) -> str:
        """ZSET of the positions of seeded records this sandbox wrote a new version of."""
        return f"{self.prefix}r:{kind}:{org_id}"

    def deleted(self, kind: str, org_id: str) -> str:
        """ZSET of the positions of seeded records this sandbox deleted."""
        return f"{self.prefix}d:{kind}:{org_id}"

    def runs(self, kind: str, org_id: str) -> list[str]:
        """The keys a page of (kind, organization) reads: its three sorted sets and the written hash."""
        return [
            self.inserted(kind, org_id),
            self.replaced(kind, org_id),
            self.deleted(kind, org_id),
            self.written(kind),
        ]

    def of_organization(self, org_id: str, registered: set[str]) -> list[tuple[str, str]]:
        """(kind, key) of each of the organization's sorted sets that the registry lists."""
        kinds = [name.removeprefix(self.written_prefix) for name in registered if name.startswith(self.written_prefix)]
        return [(kind, name) for kind in sorted(kinds) for name in self.runs(kind, org_id)[:3] if name in registered]


def member(position: Position) -> bytes:
    """A sorted-set member whose byte order is the order of ``(created_at, id)`` tuples, for any strings."""
    return (position[0] + SEPARATOR + position[1]).encode("utf-8", "surrogatepass")


def position_of(raw: bytes) -> Position:
    created_at, _, record_id = raw.decode("utf-8", "surrogatepass").partition(SEPARATOR)
    return created_at, record_id


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def field(record_id: str) -> bytes:
    return record_id.encode("utf-8", "surrogatepass")


def upper_bound(after: Position | None) -> bytes:
    """ZREVRANGEBYLEX's max for the members strictly older than ``after``."""
    return b"+" if after is None else b"(" + member(after)


def encode(record: Record) -> bytes:
    """Record JSON (orjson; the standard library, marked by a leading "~", for what orjson refuses)."""
    try:
        return orjson.dumps(record)
    except (TypeError, orjson.JSONEncodeError):  # integers past 64 bits, lone surrogates: kept exactly
        return b"~" + json.dumps(record).encode()


@functools.lru_cache(maxsize=4096)
def decode(raw: bytes) -> Record:
    """The record stored as ``raw``. The same bytes give the same (read-only) dict, as the memory store
    hands out its stored dicts: a page read again decodes nothing, and list views shared by record
    identity (``resources/lookups.project``) keep working."""
    value: Record = json.loads(raw[1:]) if raw[:1] == b"~" else orjson.loads(raw)
    return value


# Every read script may take the lock as it reads (ARGV[1] = token, ARGV[2] = ttl in ms; "" = do not):
# a transaction's first read is then its lock's acquisition, in the same round trip. {0} = it is held.
_TAKE_LOCK = """
if ARGV[1] ~= '' and not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
"""

# KEYS: lock, written hash. ARGV: token, ttl, id -> {1, value or false}
GET = _TAKE_LOCK + "return {1, redis.call('HGET', KEYS[2], ARGV[3])}"

# KEYS: lock, written hash. ARGV: token, ttl -> {1, {field, value, ...}}
GET_ALL = _TAKE_LOCK + "return {1, redis.call('HGETALL', KEYS[2])}"

# KEYS: lock, registry -> {1, {member, ...}}
REGISTRY = _TAKE_LOCK + "return {1, redis.call('SMEMBERS', KEYS[2])}"

# KEYS: lock, counters hash, zset... ARGV: token, ttl, counter field -> {1, counter or false, ZCARD...}
CARDS = (
    _TAKE_LOCK
    + """
local out = {1, redis.call('HGET', KEYS[2], ARGV[3])}
for n = 3, #KEYS do out[#out + 1] = redis.call('ZCARD', KEYS[n]) end
return out
"""
)

# KEYS: lock, counters hash. ARGV: token, ttl -> {1, {field, value, ...}}
COUNTERS = _TAKE_LOCK + "return {1, redis.call('HGETALL', KEYS[2])}"

# KEYS: lock, zset... ARGV: token, ttl -> {1, {members of KEYS[2]}, {members of KEYS[3]}, ...}
MEMBERS = (
    _TAKE_LOCK
    + """
local out = {1}
for n = 2, #KEYS do out[n] = redis.call('ZRANGE', KEYS[n], 0, -1) end
return out
"""
)

# One (kind, organization)'s overlay, newest first from a bound, in three runs: inserted records and
# replaced seeded ones with their JSON, deleted seeded ones without. A count of 0 skips a run, -1
# reads all of it. KEYS: lock, inserted, replaced, deleted, written.
# ARGV: token, ttl, then (max bound, count) for each run -> {1, {member, json, ...}, {member, json, ...}, {member, ...}}
PAGE = (
    _TAKE_LOCK
    + """
local function run(key, bound, count, with_json)
  if count == 0 then return {} end
  local members = redis.call('ZREVRANGEBYLEX', key, bound, '-', 'LIMIT', 0, count)
  if not with_json then return members end
  local out = {}
  for start = 1, #members, 500 do
    local ids = {}
    for n = start, math.min(start + 499, #members) do
      local m = members[n]
      ids[#ids + 1] = string.sub(m, string.find(m, '\\0', 1, true) + 1)
    end
    local values = redis.call('HMGET', KEYS[5], unpack(ids))
    for n = 1, #ids do
      out[#out + 1] = members[start + n - 1]
      out[#out + 1] = values[n]
    end
  end
  return out
end
return {1, run(KEYS[2], ARGV[3], tonumber(ARGV[4]), true), run(KEYS[3], ARGV[5], tonumber(ARGV[6]), true),
        run(KEYS[4], ARGV[7], tonumber(ARGV[8]), false)}
"""
)

# A commit. KEYS: lock, registry, data keys... ARGV: token ("" = only while nobody holds the lock), "1" to
# release the lock after, the number of checks, the checks (check, key index, field): "absent" (no such
# field), "tomb" (the field is a tombstone) or "alive" (the key exists: the sandbox was not deleted
# meanwhile; field unused), then the ops, each an opcode, a key index and its arguments.
# Every key written is added to the registry, every key deleted removed from it — except by XADD (an entry
# to a stream, its consumer group made if missing) and COUNT (HINCRBY), which write keys that are not the
# store's (staged by ``RedisTransactions.stage``), TALLY (INCRBY and PEXPIRE of a state counter), LOG (an
# entry appended to a numbered log of the state, ``redis_logs``: list and counter keys, keep, value) and
# BUMP (INCR of the records' version, ``Keys.version``).
# -> {"ok", the LOG entries' numbers...} | {"locked"} | {"lost"} | {"exists", check number} | {"gone"}
APPLY = """
local lock = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if lock then return {'locked'} end
elseif lock ~= ARGV[1] then
  return {'lost'}
end
local release = ARGV[2] == '1'
local a = 4
for c = 1, tonumber(ARGV[3]) do
  if ARGV[a] == 'alive' then
    if redis.call('EXISTS', KEYS[tonumber(ARGV[a + 1])]) == 0 then
      if release then redis.call('DEL', KEYS[1]) end
      return {'gone'}
    end
  else
    local value = redis.call('HGET', KEYS[tonumber(ARGV[a + 1])], ARGV[a + 2])
    if (ARGV[a] == 'absent' and value) or (ARGV[a] == 'tomb' and value ~= '') then
      if release then redis.call('DEL', KEYS[1]) end
      return {'exists', c}
    end
  end
  a = a + 3
end
local wrote, dropped, numbers = {}, {}, {}
while a <= #ARGV do
  local op, key = ARGV[a], KEYS[tonumber(ARGV[a + 1])]
  if op == 'HSET' then redis.call('HSET', key, ARGV[a + 2], ARGV[a + 3]); a = a + 4; wrote[key] = true
  elseif op == 'HINCRBY' then redis.call('HINCRBY', key, ARGV[a + 2], ARGV[a + 3]); a = a + 4; wrote[key] = true
  elseif op == 'ZADD' then redis.call('ZADD', key, 0, ARGV[a + 2]); a = a + 3; wrote[key] = true
  elseif op == 'HDEL' then redis.call('HDEL', key, ARGV[a + 2]); a = a + 3
  elseif op == 'ZREM' then redis.call('ZREM', key, ARGV[a + 2]); a = a + 3
  elseif op == 'DEL' then redis.call('DEL', key); a = a + 2; wrote[key] = nil; dropped[key] = true
  elseif op == 'XADD' then
    pcall(redis.call, 'XGROUP', 'CREATE', key, ARGV[a + 2], '0', 'MKSTREAM')
    redis.call('XADD', key, '*', ARGV[a + 3], ARGV[a + 4]); a = a + 5
  elseif op == 'COUNT' then redis.call('HINCRBY', key, ARGV[a + 2], ARGV[a + 3]); a = a + 4
  elseif op == 'BUMP' then redis.call('INCR', key); a = a + 2
  elseif op == 'TALLY' then
    redis.call('INCRBY', key, ARGV[a + 2]); redis.call('PEXPIRE', key, ARGV[a + 3]); a = a + 4
  elseif op == 'LOG' then
    numbers[#numbers + 1] = redis.call('INCR', KEYS[tonumber(ARGV[a + 2])])
    redis.call('RPUSH', key, ARGV[a + 4]); redis.call('LTRIM', key, -tonumber(ARGV[a + 3]), -1); a = a + 5
  else return redis.error_reply('unknown op ' .. tostring(op)) end
end
for key in pairs(wrote) do dropped[key] = nil; redis.call('SADD', KEYS[2], key) end
for key in pairs(dropped) do redis.call('SREM', KEYS[2], key) end
if release then redis.call('DEL', KEYS[1]) end
return {'ok', unpack(numbers)}
"""

# KEYS: registry, lock, every key the registry lists. Deletes them all only if the registry lists
# exactly those keys (else a writer added one meanwhile: read the registry again) -> 1 | 0
DROP = """
if redis.call('SCARD', KEYS[1]) ~= #KEYS - 2 then return 0 end
for n = 3, #KEYS do
  if redis.call('SISMEMBER', KEYS[1], KEYS[n]) == 0 then return 0 end
end
redis.call('DEL', unpack(KEYS))
return 1
"""


def scripts(client: Any) -> dict[str, Any]:
    """The scripts, registered with ``client`` (redis-py sends EVALSHA, loading a script once if missing)."""
    return {
        name: client.register_script(source)
        for name, source in (
            ("get", GET),
            ("get_all", GET_ALL),
            ("registry", REGISTRY),
            ("cards", CARDS),
            ("counters", COUNTERS),
            ("members", MEMBERS),
            ("page", PAGE),
            ("apply", APPLY),
            ("drop", DROP),
        )
    }


def preload(client: Any, *more: str) -> None:
    """Load every script of the store, the state and its logs, and ``more``, into Redis (SCRIPT LOAD,
    a round trip each): a script's first call would otherwise find it missing and load it then, two
    trips more."""
    stored = [script.script for script in scripts(client).values()]
    for source in [*stored, *redis_state_scripts.SCRIPTS, *redis_logs.SCRIPTS, *more]:
        client.script_load(source)
