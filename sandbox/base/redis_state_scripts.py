"""The Lua scripts of ``RedisState`` (``redis_state``): the operations that read and write in one
atomic step against every other process of a fleet."""

POP_UPTO = """
local taken = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #taken, 2 do redis.call('ZREM', KEYS[1], taken[i]) end
return taken
"""
ADMIT = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
return 1
"""
PUSH_KEEP = """
redis.call('RPUSH', KEYS[1], ARGV[1])
local extra = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[2])
if extra > 0 then return redis.call('LPOP', KEYS[1], extra) end
return {}
"""
PUSH_SIZED = """
redis.call('RPUSH', KEYS[1], ARGV[1])
local change = tonumber(ARGV[2])
local keep = tonumber(ARGV[3])
if keep >= 0 then
  local extra = redis.call('LLEN', KEYS[1]) - keep
  if extra > 0 then
    for _, item in ipairs(redis.call('LPOP', KEYS[1], extra)) do
      change = change - tonumber(string.match(item, '^%[(%-?[%d.]+),'))
    end
  end
end
redis.call('HINCRBY', KEYS[2], ARGV[4], change)
return redis.call('HINCRBY', KEYS[2], '*', change)
"""
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# A count and its expiry in one step (inside a plain pipeline).
INCR_EXPIRE = "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) redis.call('PEXPIRE', KEYS[1], ARGV[2]) return v"

# Take back a count made ahead (``State.prefetched``'s spends): never re-creates an expired counter.
GIVE_BACK = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECRBY', KEYS[1], ARGV[1]) end return 0"

# A request's prefetch (``Prefetching.prefetched``) in one command: for each key, ARGV holds an
# operation and its argument — 'get', 'hget' (a field), 'hall', 'put' (a value) or 'spend' (a
# counter's ttl in ms, counted by one) — answered in order. Its reads come before its writes.
PREFETCH = """
local replies = {}
for i = 1, #KEYS do
  local op, arg = ARGV[2 * i - 1], ARGV[2 * i]
  if op == 'get' then replies[i] = redis.call('GET', KEYS[i])
  elseif op == 'hget' then replies[i] = redis.call('HGET', KEYS[i], arg)
  elseif op == 'hall' then replies[i] = redis.call('HGETALL', KEYS[i])
  elseif op == 'put' then redis.call('SET', KEYS[i], arg) replies[i] = 0
  else
    replies[i] = redis.call('INCRBY', KEYS[i], 1)
    redis.call('PEXPIRE', KEYS[i], arg)
  end
end
return replies
"""
