"""Numbered logs (``State.log_append`` / ``log_after``): the same answers from MemoryState and RedisState,
and one numbering for every process appending to one log."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from sandbox.base.memory_state import MemoryState
from sandbox.base.redis_state import RedisState, sandbox_prefix
from tests.support import counting_redis


@pytest.fixture(params=["memory", "redis", "cluster"])
def make_state(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Makes States of one sandbox: MemoryState is one object; on Redis (one server or a three-node
    Cluster) each call is another connection (another process, as far as Redis can tell) on the same names."""
    if request.param == "memory":
        shared = MemoryState()
        yield lambda: shared
        return
    cluster = request.param == "cluster"
    url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
    prefix, clients = sandbox_prefix(f"sbx_{uuid.uuid4().hex}"), []

    def connect() -> RedisState:
        clients.append(RedisCluster.from_url(url) if cluster else redis.Redis.from_url(url))
        return RedisState(clients[-1], prefix)

    yield connect
    connect().drop()
    for client in clients:
        client.close()


def test_numbers_go_on_and_only_the_newest_are_kept(make_state: Any) -> None:
    state = make_state()
    assert state.log_after({"log": 0}) == {"log": (0, [])}
    assert state.log_append("log", [{"n": 1}], keep=3) == 1
    assert state.log_append("log", [{"n": 2}, {"n": 3}], keep=3) == 3
    assert state.log_after({"log": 0})["log"] == (3, [(1, {"n": 1}), (2, {"n": 2}), (3, {"n": 3})])
    assert state.log_append("log", [{"n": 4}, {"n": 5}], keep=3) == 5
    assert state.log_after({"log": 0})["log"] == (5, [(3, {"n": 3}), (4, {"n": 4}), (5, {"n": 5})])  # fell out
    assert state.log_after({"log": 4})["log"] == (5, [(5, {"n": 5})])
    assert state.log_after({"log": 5})["log"] == (5, [])
    assert state.log_after({"log": 9})["log"] == (5, [])  # ahead: nothing, and the newest says so
    assert state.log_after({"log": 3, "other": 0}) == {"log": (5, [(4, {"n": 4}), (5, {"n": 5})]), "other": (0, [])}
    state.drop()
    assert state.log_after({"log": 2})["log"] == (0, [])


def test_appenders_on_many_connections_share_one_numbering(make_state: Any) -> None:
    states = [make_state() for _ in range(4)]
    numbers: list[int] = []
    lock = threading.Lock()

    def append(state: Any, writer: int) -> None:
        for index in range(25):
            number = state.log_append("log", [{"writer": writer, "index": index}], keep=1000)
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=append, args=(state, writer)) for writer, state in enumerate(states)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(numbers) == list(range(1, 101))  # none twice, none skipped
    newest, held = states[0].log_after({"log": 0})["log"]
    assert newest == 100 and [number for number, _ in held] == list(range(1, 101))
    for writer in range(4):  # each writer's entries in the order it appended them
        assert [value["index"] for _, value in held if value["writer"] == writer] == list(range(25))


def test_on_redis_an_append_and_a_read_of_several_logs_are_one_round_trip_each(redis_url: str) -> None:
    client, trips = counting_redis(redis_url)
    state = RedisState(client, sandbox_prefix(f"sbx_{uuid.uuid4().hex}"))
    try:
        state.log_append("a", [1], keep=10)  # loads the scripts
        state.log_after({"a": 0, "b": 0})
        assert trips.measure(lambda: state.log_append("a", [2], keep=10)) == 1
        assert trips.measure(lambda: state.log_after({"a": 0, "b": 0})) == 1
    finally:
        state.drop()
        client.close()
