"""``ThreadConnectionPool``: a thread keeps its connection between commands, threads never share one,
and a thread's connection goes back to the pool when the thread ends (against the session's Redis)."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import redis

from sandbox.base.redis_pool import ThreadConnectionPool
from sandbox.composition.fleet import connect
from tests.support import fresh_database


def pool_of(url: str) -> tuple[redis.Redis, ThreadConnectionPool]:
    client = connect(url)
    assert isinstance(client.connection_pool, ThreadConnectionPool)  # what a fleet process uses
    return client, client.connection_pool


def used(pool: ThreadConnectionPool) -> Any:
    """The connection the calling thread's next command will get (and gives it back)."""
    connection = pool.get_connection()
    pool.release(connection)
    return connection


def test_a_thread_keeps_one_connection_for_commands_and_pipelines(redis_url: str) -> None:
    client, pool = pool_of(fresh_database(redis_url))
    client.set("a", "1")
    mine = used(pool)
    pipe = client.pipeline(transaction=False)
    pipe.get("a")
    pipe.incr("b")
    assert pipe.execute() == [b"1", 1]
    assert used(pool) is mine
    assert len(pool._available_connections) == 0 and pool._in_use_connections == {mine}
    client.close()


def test_threads_never_share_a_connection_and_give_theirs_back_when_they_end(redis_url: str) -> None:
    url = fresh_database(redis_url)
    client, pool = pool_of(url)
    seen: list[Any] = []
    barrier = threading.Barrier(3)

    def work(n: int) -> None:
        for _ in range(50):
            client.incr(f"count:{n}")
        seen.append(used(pool))
        barrier.wait(timeout=10)  # all three alive at once: each holds its own connection

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len({id(connection) for connection in seen}) == 3
    other = redis.Redis.from_url(url)  # not this pool: this thread would take a connection from it
    assert [other.get(f"count:{n}") for n in range(3)] == [b"50"] * 3
    other.close()
    deadline = time.monotonic() + 5  # a joined thread's locals are freed just after join returns
    while set(pool._available_connections) != set(seen) and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    assert set(pool._available_connections) == set(seen)  # the ended threads' connections are the pool's
    client.close()


def test_a_nested_use_on_one_thread_takes_another_connection(redis_url: str) -> None:
    _client, pool = pool_of(fresh_database(redis_url))
    outer = pool.get_connection()
    inner = pool.get_connection()  # while ``outer`` is lent out (a command inside a command)
    assert inner is not outer
    pool.release(inner)
    pool.release(outer)
    assert used(pool) is outer and inner in pool._available_connections
    pool.disconnect()


def test_a_dropped_connection_is_made_again_on_the_next_command(redis_url: str) -> None:
    client, pool = pool_of(fresh_database(redis_url))
    client.set("kept", "yes")
    mine = used(pool)
    killer = redis.Redis.from_url(fresh_database(redis_url))
    name = f"victim-{id(mine)}"
    client.client_setname(name)
    victim = next(entry for entry in killer.client_list() if entry.get("name") == name)
    killer.client_kill_filter(_id=victim["id"])  # the server closes this thread's connection
    assert client.get("kept") == b"yes"  # redis-py reconnects (it retries once on a dropped socket)
    assert used(pool) is mine
    killer.close()
    client.close()


def test_a_connection_released_on_another_thread_stays_with_the_thread_that_keeps_it(redis_url: str) -> None:
    _client, pool = pool_of(fresh_database(redis_url))
    taken: list[Any] = []
    handed, done = threading.Event(), threading.Event()
    again: list[Any] = []

    def keeper() -> None:
        taken.append(pool.get_connection())  # this thread's own, lent out …
        handed.set()
        done.wait(timeout=10)
        again.append(used(pool))  # … and its own again once released elsewhere

    thread = threading.Thread(target=keeper)
    thread.start()
    assert handed.wait(timeout=10)
    pool.release(taken[0])  # on this thread (a pipeline handed over)
    assert taken[0] not in pool._available_connections  # not the pool's to hand to a third thread
    done.set()
    thread.join(timeout=10)
    assert again == taken
    pool.disconnect()


def test_a_keeper_that_ends_while_its_connection_is_handed_over_does_not_give_it_away(redis_url: str) -> None:
    client, pool = pool_of(fresh_database(redis_url))
    taken: list[Any] = []
    keeper = threading.Thread(target=lambda: taken.append(pool.get_connection()))  # lent out, then ends
    keeper.start()
    keeper.join(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and getattr(taken[0], "kept_by", None) and taken[0].kept_by() is not None:
        gc.collect()
        time.sleep(0.01)
    assert taken[0] not in pool._available_connections  # still in use by whoever holds it
    other: list[Any] = []
    third = threading.Thread(target=lambda: other.append(used(pool)))
    third.start()
    third.join(timeout=10)
    assert other[0] is not taken[0]  # a third thread never gets a connection in use
    pool.release(taken[0])  # its holder is done: now it is the pool's
    assert taken[0] in pool._available_connections
    client.close()


def test_closing_the_client_closes_every_kept_connection(redis_url: str) -> None:
    url = fresh_database(redis_url)
    client, pool = pool_of(url)
    threads = [threading.Thread(target=client.ping) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    client.ping()
    watcher = redis.Redis.from_url(url)
    name = f"closing-{id(pool)}"
    client.client_setname(name)  # this thread's kept connection, named
    assert any(entry.get("name") == name for entry in watcher.client_list())
    client.close()
    assert not any(entry.get("name") == name for entry in watcher.client_list())
    assert all(connection._sock is None for connection in pool._in_use_connections | set(pool._available_connections))
    watcher.close()


def test_more_threads_than_redis_py_default_limit_may_each_keep_a_connection(redis_url: str) -> None:
    client, _pool = pool_of(fresh_database(redis_url))
    failures: list[BaseException] = []
    go = threading.Event()

    def work() -> None:
        go.wait(timeout=10)
        try:
            client.ping()
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(120)]  # redis-py's default cap is 100
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    client.close()
