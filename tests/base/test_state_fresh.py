"""``State.fresh``: a new sandbox's state written in one go — reads inside answer from the writes made
inside, nothing reaches another process until the block ends, then all of it does (one round trip on
Redis); a block that raises writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from sandbox.base.memory_state import MemoryState
from sandbox.base.redis_state import RedisState, sandbox_prefix
from tests.support import counting_redis


@pytest.fixture(params=["memory", "redis"])
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any, Any]]:
    """(the state written, another process's view of the same names, its round trips or None)."""
    if request.param == "memory":
        shared = MemoryState()
        yield shared, shared, None
        return
    url = request.getfixturevalue("redis_url")
    prefix = sandbox_prefix(f"sbx_{uuid.uuid4().hex}")
    client, trips = counting_redis(url)
    other = redis.Redis.from_url(url)
    yield RedisState(client, prefix), RedisState(other, prefix), trips
    RedisState(other, prefix).drop()
    client.close()
    other.close()


def test_reads_inside_answer_from_the_writes_and_the_rest_does_not_exist(pair: tuple[Any, Any, Any]) -> None:
    state, other, trips = pair
    before = None if trips is None else trips.count
    with state.fresh():
        assert state.put_new("signing-key", "abc") is True
        assert state.put_new("signing-key", "xyz") is False  # already written inside
        assert state.get("signing-key") == "abc"
        state.put("clock", {"offset": 0.0})
        state.hput("keys", "tok_1", {"id": "k1"})
        assert state.hget("keys", "tok_1") == {"id": "k1"} and state.hall("keys") == {"tok_1": {"id": "k1"}}
        assert state.get("never-written") is None and state.hall("nothing") == {}
        if trips is not None:
            assert trips.count == before  # nothing sent yet …
            assert other.get("clock") is None  # … so another process sees nothing
    if trips is not None:
        assert trips.count == before + 1  # … then all of it in one round trip
    assert other.get("signing-key") == "abc" and other.get("clock") == {"offset": 0.0}
    assert other.hall("keys") == {"tok_1": {"id": "k1"}}
    state.put("clock", {"offset": 5.0})  # outside, writes go out at once again
    assert other.get("clock") == {"offset": 5.0}


def test_a_block_that_raises_writes_nothing(redis_url: str) -> None:
    """(On memory every write is made at once: only Redis holds writes back.)"""
    prefix = sandbox_prefix(f"sbx_{uuid.uuid4().hex}")
    client, other_client = redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url)
    state, other = RedisState(client, prefix), RedisState(other_client, prefix)
    try:
        with pytest.raises(RuntimeError), state.fresh():
            state.put("lifetime", {"ttl": 60})
            raise RuntimeError("attaching failed")
        assert other.get("lifetime") is None and state.get("lifetime") is None
    finally:
        other.drop()
        client.close()
        other_client.close()
