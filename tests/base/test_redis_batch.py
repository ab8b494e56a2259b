"""``RedisState.batch`` as one Lua script (``BATCH``): every operation's result in order, and a failing
operation does not stop the others (as a pipeline's would not), its error raised after."""

from __future__ import annotations

import uuid

import pytest
import redis

from sandbox.base.redis_pool import ThreadConnectionPool
from sandbox.base.redis_state import RedisState, sandbox_prefix
from tests.support import fresh_database


@pytest.fixture
def state(redis_url: str) -> RedisState:
    return RedisState(redis.Redis.from_url(fresh_database(redis_url)), sandbox_prefix(f"sbx_{uuid.uuid4().hex}"))


def test_each_operation_answers_in_order(state: RedisState) -> None:
    state.put("gone", 1)
    with state.batch() as batch:
        batch.add("incr", "count", 3, 10.0)
        batch.add("hincr", "hash", "x", 2)
        batch.add("push_sized", "log", {"n": 1}, 10, 1, "tally")
        batch.add("push_sized", "log", {"n": 2}, 7, 1, "tally")  # the first is evicted: its 10 bytes go
        batch.add("remove", "gone")
        batch.add("zadd", "due", "task", 1.5)
        batch.add("hput", "hash", "y", {"deep": [1, None]})
        batch.add("hremove", "hash", "x")
        batch.add("put", "kept", "value", 30.0)
    assert batch.results == [3, 2, 10, 7, None, None, None, None, None]
    assert state.hall("tally") == {"log": 7, "*": 7} and state.items("log") == [[7, {"n": 2}]]
    assert state.get("gone") is None and state.hall("hash") == {"y": {"deep": [1, None]}}
    assert state.get("kept") == "value" and 0 < state.client.pttl(state.key("kept")) <= 30_000
    assert 0 < state.client.pttl(state.key("count")) <= 10_000
    assert state.client.zscore(state.key("due"), "task") == 1.5


def test_a_failing_operation_does_not_stop_the_others(state: RedisState) -> None:
    state.put("text", "not a hash")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        with state.batch() as batch:
            batch.add("put", "before", 1)
            batch.add("hincr", "text", "field")  # a string, not a hash
            batch.add("put", "after", 2)
    assert state.get("before") == 1 and state.get("after") == 2


def test_a_flushed_script_cache_is_loaded_again(state: RedisState) -> None:
    # A Redis restarted (or SCRIPT FLUSH) knows no script: the batch and the prefetch load theirs again.
    state.client.script_flush()
    with state.batch() as batch:
        batch.add("incr", "count")
    state.client.script_flush()
    with state.prefetched([("get", "count")]) as got:
        assert got[("get", "count")] == 1
    assert batch.results == [1]


@pytest.mark.parametrize("pool", [redis.ConnectionPool, ThreadConnectionPool])
def test_scripts_go_on_after_the_server_closes_the_connection(redis_url: str, pool: type) -> None:
    # The scripts are sent on a pool's connection directly (``_evalsha``), not through execute_command:
    # a connection Redis dropped between two calls is made again, with either pool.
    url = fresh_database(redis_url)
    state = RedisState(redis.Redis.from_pool(pool.from_url(url)), sandbox_prefix(f"sbx_{uuid.uuid4().hex}"))
    with state.batch() as batch:
        batch.add("incr", "count")
    with redis.Redis.from_url(url) as other:
        assert other.client_kill_filter(_type="normal") >= 1  # every client but this one: the state's
    with state.batch() as batch:
        batch.add("incr", "count")
    with state.prefetched([("get", "count")]) as got:
        assert got[("get", "count")] == 2
    assert batch.results == [2]
    state.client.close()
