"""The Redis store as a fleet uses it: transactions that read their own writes and commit all or
nothing, instances on separate connections that behave as one store, the distributed lock (lost
updates, renewal, a dead holder, a stolen lock), the keys a sandbox has (none untouched) and the
round trips of its reads and writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.base.overlay import OverlayStore, SeededBase
from sandbox.base.redis_lock import LockLost, LockSettings, LockTimeout
from sandbox.base.redis_store import RedisOverlayStore
from sandbox.base.store import MemoryStore
from tests.base.test_overlay_store import BASE, KINDS, ORGS, operation, record
from tests.support import RedisStores, counting_redis

ROOT = Path(__file__).resolve().parents[2]


def pattern(store: RedisOverlayStore) -> str:
    return store.keys.prefix.replace("{", "[{]").replace("}", "[}]") + "*"


def step(store: Any, action: tuple[Any, ...], model: Any) -> None:
    """One write, skipping inserts ``model`` (the memory overlay, the truth) would refuse."""
    name, *args = action
    if name == "insert":
        kind, number, org, stamp = args
        made = record(kind, number, org, stamp)
        seeded_as = BASE.by_id[kind].get(made["id"])
        if (seeded_as is not None and seeded_as != made) or model.get(kind, None, made["id"]) is not None:
            return
        store.insert(kind, made)
    elif name == "update":
        store.update(args[0], None, f"{args[0]}_{args[1]:04d}", {"stage": args[2]})
    elif name == "delete":
        store.delete(args[0], None, f"{args[0]}_{args[1]:04d}")
    else:
        store.reset(args[0])


def same(mine: RedisOverlayStore, theirs: OverlayStore) -> None:
    """Every read of the Redis store answers what the memory overlay answers."""
    for kind in KINDS:
        assert list(mine.scan(kind)) == list(theirs.scan(kind))
        assert (mine.count(kind), mine.added(kind)) == (theirs.count(kind), theirs.added(kind))
        for org in ORGS:
            assert list(mine.scan(kind, org)) == list(theirs.scan(kind, org))
            assert mine.count(kind, org) == theirs.count(kind, org)
            for where in (None, lambda r: r["stage"] == "won"):
                after = None
                while True:
                    page = mine.page(kind, org, where=where, after=after, limit=4)
                    assert page == theirs.page(kind, org, where=where, after=after, limit=4)
                    if (after := page[1]) is None:
                        break
        for number in range(41):
            assert mine.get(kind, ORGS[number % 2], f"{kind}_{number:04d}") == theirs.get(
                kind, ORGS[number % 2], f"{kind}_{number:04d}"
            )
    assert (mine.added(), mine.changed) == (theirs.added(), theirs.changed)
    assert (mine.fullest() or ("", 0))[1] == (theirs.fullest() or ("", 0))[1]


class Boom(Exception):
    pass


group = st.tuples(st.lists(operation, max_size=8), st.sampled_from(("plain", "transaction", "nested", "failed")))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(group, max_size=5))
def test_transactions_read_their_writes_and_commit_all_or_nothing(
    stores: RedisStores, groups: list[tuple[Any, str]]
) -> None:
    mine, theirs = stores(), OverlayStore(BASE)
    for steps, how in groups:
        if how == "plain":
            for action in steps:
                step(mine, action, theirs)
                step(theirs, action, theirs)
        elif how == "failed":
            with pytest.raises(Boom), mine.transaction():
                for action in steps:
                    step(mine, action, mine)
                raise Boom
        else:
            half = len(steps) // 2 if how == "nested" else len(steps)
            with mine.transaction(), theirs.transaction():
                for action in steps[:half]:
                    step(mine, action, theirs)
                    step(theirs, action, theirs)
                with mine.transaction(), theirs.transaction():
                    for action in steps[half:]:
                        step(mine, action, theirs)
                        step(theirs, action, theirs)
                same(mine, theirs)  # inside: the reads see the buffered writes
        same(mine, theirs)


def test_two_instances_on_one_sandbox_are_one_store(stores: RedisStores) -> None:
    first = stores()
    second = stores(first.sandbox_id)
    first.insert("lead", record("lead", 99, "org_a", 9))
    first.update("lead", "org_a", "lead_0000", {"stage": "won"})
    second.delete("lead", None, "lead_0001")
    assert second.get("lead", "org_a", "lead_0099") == record("lead", 99, "org_a", 9)
    assert second.get("lead", None, "lead_0000")["stage"] == "won" and first.get("lead", None, "lead_0001") is None
    for store in (first, second):
        assert store.page("lead", "org_a", limit=3)[0][0]["id"] == "lead_0099"
        assert (store.count("lead", "org_a"), store.count("lead"), store.added("lead"), store.changed) == (13, 24, 1, 3)
    with second.transaction():
        second.update("lead", None, "lead_0099", {"stage": "lost"})
    assert first.get("lead", None, "lead_0099")["stage"] == "lost"
    second.reset("org_a")
    assert first.get("lead", None, "lead_0099") is None and first.get("lead", None, "lead_0000")["stage"] == "new"
    assert first.get("lead", None, "lead_0001") is None  # org_b's delete stays
    first.reset()
    assert second.changed == 0 and second.get("lead", None, "lead_0001") is not None


def test_concurrent_read_modify_writes_on_two_instances_lose_no_update(stores: RedisStores) -> None:
    first = stores()
    second = stores(first.sandbox_id)
    first.update("lead", None, "lead_0000", {"hits": 0})
    rounds, errors = 25, []

    def work(store: RedisOverlayStore) -> None:
        try:
            for _ in range(rounds):
                with store.transaction():
                    lead = store.get("lead", None, "lead_0000")
                    store.update("lead", None, "lead_0000", {"hits": lead["hits"] + 1})
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    def insert_many(store: RedisOverlayStore) -> None:  # write-only: commits while nobody holds the lock
        try:
            for number in range(100, 100 + rounds):
                store.insert("lead", record("lead", number, "org_b", 9))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(store,)) for store in (first, second) for _ in range(3)]
    threads.append(threading.Thread(target=insert_many, args=(second,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert first.get("lead", None, "lead_0000")["hits"] == 6 * rounds
    assert first.count("lead", "org_b") == 12 + rounds and first.added("lead") == rounds


def test_an_exception_inside_a_transaction_writes_nothing(stores: RedisStores) -> None:
    store = stores()
    committed: list[str] = []
    with pytest.raises(Boom), store.transaction():
        store.insert("lead", record("lead", 99, "org_a", 9))
        store.update("lead", None, "lead_0000", {"stage": "won"})
        store.delete("lead", None, "lead_0001")
        store.reset("org_b")
        store.after_commit(lambda: committed.append("ran"))
        assert store.get("lead", None, "lead_0099") is not None and store.count("lead", "org_a") == 13
        raise Boom
    assert stores.keys_of(store) == [] and committed == []
    assert store.get("lead", None, "lead_0099") is None and store.get("lead", None, "lead_0000")["stage"] == "new"


def test_after_commit_runs_once_the_writes_are_visible_to_every_instance(stores: RedisStores) -> None:
    store = stores()
    other = stores(store.sandbox_id)
    seen: list[Any] = []
    with store.transaction():
        store.insert("lead", record("lead", 99, "org_a", 9))
        store.after_commit(lambda: seen.append(other.get("lead", None, "lead_0099")))
        assert seen == []
    assert seen == [record("lead", 99, "org_a", 9)]
    store.after_commit(lambda: seen.append("now"))  # outside a transaction: at once
    assert seen[-1] == "now"


def test_a_duplicate_insert_fails_its_transaction_whole(stores: RedisStores) -> None:
    store = stores()
    other = stores(store.sandbox_id)
    other.insert("lead", record("lead", 99, "org_a", 9, stage="first"))
    with pytest.raises(KeyError, match="already exists"), store.transaction():
        store.update("lead", None, "lead_0000", {"stage": "won"})
        store.insert("lead", record("lead", 99, "org_a", 9, stage="second"))  # checked by the commit
    assert store.get("lead", None, "lead_0000")["stage"] == "new"
    assert store.get("lead", None, "lead_0099")["stage"] == "first"
    with pytest.raises(KeyError, match="already exists"):
        store.insert("lead", record("lead", 99, "org_a", 9))
    with pytest.raises(KeyError, match="already exists"):
        store.insert("lead", record("lead", 0, "org_a", 0))  # a live seeded record


def test_a_lock_held_past_its_ttl_is_renewed(stores: RedisStores) -> None:
    holder = stores(lock=LockSettings(ttl_ms=150, wait_s=5))
    rival = stores(holder.sandbox_id, lock=LockSettings(ttl_ms=150, wait_s=0.6))
    tried = threading.Event()
    outcome: list[BaseException] = []

    def compete() -> None:
        try:
            with rival.transaction():
                rival.get("lead", None, "lead_0000")
        except LockTimeout as error:
            outcome.append(error)
        tried.set()

    with holder.transaction():
        holder.update("lead", None, "lead_0000", {"stage": "won"})  # takes the lock
        threading.Thread(target=compete).start()
        assert tried.wait(timeout=30)  # four ttls and more went by while the rival waited
    assert len(outcome) == 1  # it never got the lock, and the holder's commit went through:
    assert rival.get("lead", None, "lead_0000")["stage"] == "won"


def test_a_commit_after_the_lock_was_lost_writes_nothing(stores: RedisStores) -> None:
    store = stores()
    with pytest.raises(LockLost), store.transaction():
        store.update("lead", None, "lead_0000", {"stage": "won"})
        stores.client.set(store.keys.lock, "another holder's token", px=10_000)  # it expired and was taken
    assert stores.client.get(store.keys.lock) == b"another holder's token"
    stores.client.delete(store.keys.lock)
    assert store.get("lead", None, "lead_0000")["stage"] == "new"


HOLDER = """
import sys
import redis
from redis.cluster import RedisCluster
from sandbox.base.overlay import SeededBase
from sandbox.base.redis_lock import LockSettings
from sandbox.base.redis_store import RedisOverlayStore
from sandbox.base.store import MemoryStore
from sandbox.base.store import MemoryStore
url, sandbox_id, cluster = sys.argv[1:]
client = RedisCluster.from_url(url) if cluster == "cluster" else redis.Redis.from_url(url)
store = RedisOverlayStore(client, sandbox_id, SeededBase(MemoryStore()),
                          lock=LockSettings(ttl_ms=400))
with store.transaction():
    store.insert("lead", {"id": "lead_dead", "organization_id": "org_a", "created_at": "2026-01-01T00:00:00.000Z"})
    store.count("lead", "org_a")  # a read: the lock is held from here
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_dead_holders_lock_expires(stores: RedisStores) -> None:
    store = stores()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, stores.url, store.sandbox_id, "cluster" if stores.cluster else "single"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert 0 < stores.client.pttl(store.keys.lock) <= 400
    finally:
        holder.kill()  # kill -9: no release, no commit, no more renewals
        holder.wait()
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()
    with store.transaction():  # waits (at most the ttl) for the dead holder's lock to expire
        store.update("lead", None, "lead_0000", {"stage": "won"})
    assert store.get("lead", None, "lead_0000")["stage"] == "won"
    assert store.get("lead", None, "lead_dead") is None  # the dead holder's buffered insert never landed


def test_an_untouched_sandbox_has_no_keys_and_reads_need_one_round_trip(redis_url: str) -> None:
    client, trips = counting_redis(redis_url)
    store = RedisOverlayStore(client, f"sbx_{uuid.uuid4().hex}", BASE)
    try:
        assert trips.measure(lambda: store.page("lead", "org_a", limit=5)) == 1
        assert trips.measure(lambda: store.page("lead", "org_a", where=lambda r: True, limit=5)) == 1
        assert trips.measure(lambda: store.get("lead", None, "lead_0000")) == 1
        assert trips.measure(lambda: store.count("lead", "org_a")) == 1
        with store.transaction():
            store.get("lead", None, "lead_0000")
            store.count("lead")
        assert (store.added(), store.changed, store.fullest(), list(store.scan("call")) != []) == (0, 0, None, True)
        assert client.keys(pattern(store)) == [] and store.memory_usage() == 0
        assert trips.measure(lambda: store.insert("lead", record("lead", 99, "org_a", 9))) == 1
        assert trips.measure(lambda: store.update("lead", None, "lead_0099", {"stage": "won"})) == 2
        assert trips.measure(lambda: store.page("lead", "org_a", limit=5)) == 1
        assert store.memory_usage() > 0
    finally:
        store.drop()
    assert client.keys(pattern(store)) == []


def test_a_reset_of_one_organization_drops_only_its_keys(stores: RedisStores) -> None:
    store = stores()
    for org, number in (("org_a", 90), ("org_b", 91)):
        store.insert("lead", record("lead", number, org, 9))
        store.insert("call", record("call", number, org, 9))
    store.update("lead", None, "lead_0000", {"stage": "won"})  # org_a's
    store.delete("lead", None, "lead_0001")  # org_b's
    store.reset("org_a")
    names = {name.decode().removeprefix(store.keys.prefix) for name in stores.keys_of(store)}
    # ``s:store-version`` is the records' version (a state name): it survives resets and only grows.
    assert names == {"keys", "n", "w:lead", "w:call", "i:lead:org_b", "i:call:org_b", "d:lead:org_b", "s:store-version"}
    assert {name.decode() for name in stores.client.hkeys(store.keys.written("lead"))} == {"lead_0091", "lead_0001"}
    assert (store.added("lead"), store.added("call"), store.changed) == (1, 1, 3)


def test_a_sandbox_id_makes_one_hash_tag() -> None:
    unconnected = redis.Redis(port=1)
    with pytest.raises(ValueError):
        RedisOverlayStore(unconnected, "sbx_{x}", BASE)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisOverlayStore(redis.Redis(port=1, decode_responses=True), "sbx_1", BASE)
    assert RedisOverlayStore(unconnected, "sbx_1", SeededBase(MemoryStore())).keys.lock == "sbx:{sbx_1}:lock"
