"""What a fleet process keeps between requests, and what it must not: reads kept under the records'
version a request saw as it began (``RedisTransactions``), and rate-limit counts made ahead in the
request's first round trip (``State.prefetched``'s spends)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.base.memory_state import MemoryState
from sandbox.base.redis_state import RedisState, sandbox_prefix
from sandbox.base.redis_store import RedisOverlayStore
from tests.base.test_overlay_store import BASE, record
from tests.support import counting_redis


class Process:
    """One process's store of a sandbox, on a connection of its own that counts round trips, and the
    version its current request saw as it began (what the state prefetch hands the store)."""

    def __init__(self, url: str, sandbox_id: str) -> None:
        self.client, self.trips = counting_redis(url)
        self.seen: tuple[bool, Any] = (False, None)
        self.store = RedisOverlayStore(self.client, sandbox_id, BASE, version=lambda: self.seen)

    def begin_request(self) -> None:
        self.seen = (True, self.client.get(self.store.keys.version))

    def first_ids(self, limit: int = 3) -> list[str]:
        return [found["id"] for found in self.store.page("lead", "org_a", limit=limit)[0]]


@pytest.fixture
def two(redis_url: str) -> Iterator[tuple[Process, Process]]:
    sandbox_id = f"sbx_{uuid.uuid4().hex}"
    first, second = Process(redis_url, sandbox_id), Process(redis_url, sandbox_id)
    yield first, second
    first.store.drop()
    for process in (first, second):
        process.client.close()


def test_a_read_is_kept_until_any_process_changes_the_records(two: tuple[Process, Process]) -> None:
    first, second = two
    first.begin_request()
    seeded = first.first_ids()
    assert first.trips.measure(first.first_ids) == 0  # the same request, or the next at the same version
    first.store.get("lead", None, "lead_0001")  # its script loaded
    assert first.trips.measure(lambda: first.store.get("lead", None, "lead_0000")) == 1
    assert first.trips.measure(lambda: first.store.get("lead", None, "lead_0000")) == 0
    first.begin_request()
    assert first.trips.measure(first.first_ids) == 0  # nothing was written meanwhile

    second.store.insert("lead", record("lead", 99, "org_a", 9))
    second.store.update("lead", None, "lead_0000", {"stage": "won"})
    first.begin_request()
    assert first.trips.measure(first.first_ids) == 1
    assert first.first_ids()[0] == "lead_0099"
    assert first.store.get("lead", None, "lead_0000")["stage"] == "won"

    second.store.reset()
    first.begin_request()
    assert first.first_ids() == seeded and first.store.get("lead", None, "lead_0000")["stage"] == "new"


def test_a_process_reads_its_own_write_within_the_request_that_made_it(two: tuple[Process, Process]) -> None:
    first, _ = two
    first.begin_request()
    assert "lead_0098" not in first.first_ids()
    assert first.store.get("lead", None, "lead_0000")["stage"] == "new"
    first.store.insert("lead", record("lead", 98, "org_a", 9))  # the request's version is now behind
    first.store.update("lead", None, "lead_0000", {"stage": "lost"})
    assert first.first_ids()[0] == "lead_0098"
    assert first.store.get("lead", None, "lead_0000")["stage"] == "lost"


def test_a_write_through_the_process_on_another_thread_is_read_by_a_request_already_running(
    two: tuple[Process, Process],
) -> None:
    first, _ = two
    first.begin_request()  # a request that began before the write (it holds the old version)
    assert "lead_0097" not in first.first_ids()
    writer = threading.Thread(target=lambda: first.store.insert("lead", record("lead", 97, "org_a", 9)))
    writer.start()
    writer.join()
    assert first.first_ids()[0] == "lead_0097"


def test_without_a_known_version_every_read_goes_to_redis(redis_url: str) -> None:
    client, trips = counting_redis(redis_url)
    store = RedisOverlayStore(client, f"sbx_{uuid.uuid4().hex}", BASE)
    try:
        assert trips.measure(lambda: store.page("lead", "org_a", limit=3)) == 1
        assert trips.measure(lambda: store.page("lead", "org_a", limit=3)) == 1
    finally:
        store.drop()
        client.close()


@pytest.fixture
def state(redis_url: str) -> Iterator[tuple[RedisState, Any]]:
    client, trips = counting_redis(redis_url)
    made = RedisState(client, sandbox_prefix(f"sbx_{uuid.uuid4().hex}"))
    yield made, trips
    made.drop()
    client.close()


def test_a_count_made_ahead_answers_the_incr_that_asks_for_it(state: tuple[RedisState, Any]) -> None:
    counters, trips = state
    counters.incr("rl:window", ttl=60)
    with counters.prefetched([("get", "clock")], spends=[("rl:window", 60)]):
        assert trips.measure(lambda: counters.incr("rl:window", ttl=60)) == 0
        assert counters.get("rl:window") == 2
        assert trips.measure(lambda: counters.incr("rl:window", ttl=60)) == 1  # only the first is ahead
    assert counters.get("rl:window") == 3


def test_a_count_made_ahead_and_not_asked_for_is_given_back(state: tuple[RedisState, Any]) -> None:
    counters, trips = state
    counters.incr("rl:window", ttl=60)
    with counters.prefetched([], spends=[("rl:window", 60), ("rl:other", 60)]):
        assert counters.incr("rl:other", ttl=60) == 1  # the guess for the other counter was right
    assert (counters.get("rl:window"), counters.get("rl:other")) == (1, 1)
    with pytest.raises(RuntimeError), counters.prefetched([], spends=[("rl:window", 60)]):
        raise RuntimeError("the request failed before its rate limit was checked")
    assert counters.get("rl:window") == 1
    ttl = counters.client.pttl(counters.key("rl:window"))
    assert 0 < ttl <= 60_000  # still expiring: giving back never leaves a counter for good


def test_the_memory_state_counts_when_asked() -> None:
    memory = MemoryState()
    with memory.prefetched([], spends=[("rl:window", 60)]):
        assert memory.get("rl:window") is None
        assert memory.incr("rl:window", ttl=60) == 1
    assert memory.get("rl:window") == 1
