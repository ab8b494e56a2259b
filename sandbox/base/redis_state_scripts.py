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
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

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

# A ``State.batch`` in one command (``RedisState.batch``): ARGV holds each operation's name and its
# arguments, KEYS the names each touches, both in order; the reply is each operation's result
# (0 where it returns none, an error where it failed: as in a pipeline, the others are still made).
# One script, not a pipeline: redis-py's cost is per command, and a Redis Cluster runs a script
# outside a pipeline (all of a state's names share one hash tag).
BATCH = """
local function run(op, k, a)
  if op == 'put' then
    if ARGV[a + 1] == '' then redis.call('SET', KEYS[k], ARGV[a])
    else redis.call('SET', KEYS[k], ARGV[a], 'PX', ARGV[a + 1]) end
  elseif op == 'remove' then
    for i = k, k + tonumber(ARGV[a]) - 1 do redis.call('DEL', KEYS[i]) end
  elseif op == 'incr' then
    local count = redis.call('INCRBY', KEYS[k], ARGV[a])
    if ARGV[a + 1] ~= '' then redis.call('PEXPIRE', KEYS[k], ARGV[a + 1]) end
    return count
  elseif op == 'hput' then
    redis.call('HSET', KEYS[k], ARGV[a], ARGV[a + 1])
  elseif op == 'hincr' then
    return redis.call('HINCRBY', KEYS[k], ARGV[a], ARGV[a + 1])
  elseif op == 'hremove' then
    for i = a + 1, a + tonumber(ARGV[a]) do redis.call('HDEL', KEYS[k], ARGV[i]) end
  elseif op == 'zadd' then
    redis.call('ZADD', KEYS[k], ARGV[a + 1], ARGV[a])
  else -- push_sized
    redis.call('RPUSH', KEYS[k], ARGV[a])
    local change, keep = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
    if keep >= 0 then
      local extra = redis.call('LLEN', KEYS[k]) - keep
      if extra > 0 then
        for _, item in ipairs(redis.call('LPOP', KEYS[k], extra)) do
          change = change - tonumber(string.match(item, '^%[(%-?[%d.]+),'))
        end
      end
    end
    redis.call('HINCRBY', KEYS[k + 1], ARGV[a + 3], change)
    return redis.call('HINCRBY', KEYS[k + 1], '*', change)
  end
  return 0
end
local width = {put = {1, 2}, incr = {1, 2}, hput = {1, 2}, hincr = {1, 2}, zadd = {1, 2}, push_sized = {2, 4}}
local replies, k, a = {}, 1, 1
while a <= #ARGV do
  local op = ARGV[a]
  a = a + 1
  local keys, args
  if op == 'remove' then keys, args = tonumber(ARGV[a]), 1
  elseif op == 'hremove' then keys, args = 1, 1 + tonumber(ARGV[a])
  elseif width[op] then keys, args = width[op][1], width[op][2]
  else return redis.error_reply('unknown batch operation ' .. tostring(op)) end
  local ok, reply = pcall(run, op, k, a)
  if not ok then reply = redis.error_reply(type(reply) == 'table' and reply.err or tostring(reply)) end
  replies[#replies + 1] = reply
  k, a = k + keys, a + args
end
return replies
"""

SCRIPTS = (POP_UPTO, ADMIT, PUSH_KEEP, UNLOCK, GIVE_BACK, PREFETCH, BATCH)  # for ``redis_scripts.preload``
