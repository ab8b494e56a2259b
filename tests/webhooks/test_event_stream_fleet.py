"""The event stream across a fleet: two apps on one Redis database, each served on its own loopback port
(two processes of a fleet, as far as the sandbox can tell: nothing is shared between them but Redis).
A stream open on one gets what is emitted through the other, in order and once; it resumes on the
other; the per-sandbox bound counts both; a reconnect on one replaces a stream on the other; attempts
and deletion reach streams wherever they are. Every wait is on a message arriving, bounded in time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox.services.webhooks.registry import StreamRegistry
from tests.streams import StreamClient
from tests.support import LiveSandbox, Receiver, auth, fresh_database


@pytest.fixture
def fleet(redis_url: str) -> Iterator[tuple[LiveSandbox, LiveSandbox]]:
    database = fresh_database(redis_url)
    first = LiveSandbox(STORE=database, STREAM_KEEPALIVE=0.2, STREAM_BACKLOG=50)
    second = LiveSandbox(STORE=database, STREAM_KEEPALIVE=0.2, STREAM_BACKLOG=50)
    assert first.sandbox.id == second.sandbox.id and first.sandbox is not second.sandbox  # one sandbox, two processes
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def streams() -> Iterator[Callable[..., StreamClient]]:
    opened: list[StreamClient] = []

    def open_stream(server: LiveSandbox, token: str | None = None, **options: Any) -> StreamClient:
        opened.append(StreamClient(server.base_url, token or server.keys["admin"], **options))
        return opened[-1]

    yield open_stream
    for stream in opened:
        stream.close()


def trigger(server: LiveSandbox, count: int = 1) -> list[str]:
    """Trigger lead.created through ``server``; the ids of every event it emitted, oldest first."""
    response = httpx.post(
        f"{server.base_url}/_sandbox/trigger",
        headers=auth(server.keys["write"]),
        json={"event": "lead.created", "count": count},
    )
    assert response.status_code == 201, response.text
    return [emitted["id"] for emitted in response.json()["events"]]


def listener(server: LiveSandbox) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/_sandbox/listener", headers=auth(server.keys["admin"]))
    assert response.status_code == 200, response.text
    return dict(response.json())


def until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait (bounded) for something another process does in its own time, looking every 50 ms."""
    deadline, pause = time.monotonic() + timeout, threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.05)
    return True


def test_a_stream_on_one_process_gets_what_the_other_emits_in_order_and_once(fleet: Any, streams: Any) -> None:
    first, second = fleet
    stream = streams(second)
    stream.next("ready")
    emitted = trigger(first, count=3) + trigger(second) + trigger(first, count=2)  # both processes, in turn
    got = stream.webhooks(len(emitted))
    assert [message.json()["id"] for message in got] == emitted
    seqs = [int(message.id.rpartition(".")[2]) for message in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(emitted)))  # one numbering for the fleet, no hole
    sentinel = trigger(first)
    assert stream.next("webhook").json()["id"] == sentinel[0]  # nothing sent twice in between
    assert listener(first)["backlog"]["newest_id"] == listener(second)["backlog"]["newest_id"]


def test_a_stream_resumes_on_the_other_process(fleet: Any, streams: Any) -> None:
    first, second = fleet
    before = streams(second)
    before.next("ready")
    last = before.webhooks(len(trigger(first)))[-1].id
    before.close()
    missed = trigger(second, count=2)  # while nobody listens
    again = streams(first, last_event_id=last)
    assert again.next("ready").json()["resumed_after"] == last
    assert [message.json()["id"] for message in again.webhooks(len(missed))] == missed
    later = trigger(second)  # and live again, from the other process
    assert [message.json()["id"] for message in again.webhooks(len(later))] == later


def test_the_per_sandbox_bound_counts_the_streams_of_every_process(fleet: Any, streams: Any) -> None:
    first, second = fleet
    open_ones = [streams(first), streams(first), streams(second)]  # STREAMS_PER_SANDBOX: 3
    for stream in open_ones:
        stream.next("ready")
    for server in (first, second):
        refused = streams(server)
        assert refused.status == 429 and refused.error["error"]["details"]["quota"] == "streams_per_sandbox"
    assert listener(first)["streams"] == listener(second)["streams"] == 3
    open_ones[2].close()  # its process frees the place once it notices (the next keep-alive fails)
    assert until(lambda: listener(first)["streams"] == 2)
    admitted = streams(first)
    assert admitted.status == 200 and admitted.next("ready")


def test_a_reconnect_on_one_process_replaces_the_stream_on_the_other(fleet: Any, streams: Any) -> None:
    first, second = fleet
    old = streams(second, listener_id="laptop")
    old.next("ready")
    new = streams(first, listener_id="laptop")
    assert new.status == 200 and new.next("ready").json()["listener_id"] == "laptop"
    assert old.until_end().json()["reason"] == "replaced"
    assert old.ended()
    assert listener(second)["streams"] == 1  # the place is the new stream's: it counted once
    emitted = trigger(second)
    assert [message.json()["id"] for message in new.webhooks(len(emitted))] == emitted


def test_attempts_reach_inspector_streams_on_every_process(fleet: Any, streams: Any) -> None:
    first, second = fleet
    receiver = Receiver()
    try:
        created = httpx.post(
            f"{first.base_url}/api/v1/webhooks",
            headers=auth(first.keys["admin"]),
            json={"url": receiver.url, "events": ["lead.created"]},
        )
        assert created.status_code == 201, created.text
        watching = {server.base_url: streams(server, deliveries=True) for server in fleet}
        for stream in watching.values():
            stream.next("ready")
        event_id = trigger(first)[-1]  # either process's delivery workers may send it
        for stream in watching.values():
            attempt = stream.next("delivery").json()
            while attempt["status"] == "pending":
                attempt = stream.next("delivery").json()
            assert attempt["event_id"] == event_id and attempt["status"] == "delivered"
        listed = [
            httpx.get(
                f"{server.base_url}/_sandbox/webhooks/deliveries",
                params={"event_id": event_id},
                headers=auth(server.keys["admin"]),
            ).json()["data"]
            for server in fleet
        ]
        assert listed[0] == listed[1] and [attempt["status"] for attempt in listed[0]] == ["delivered"]
        assert len(receiver.wait_for(1)) == 1
    finally:
        receiver.close()


def test_a_sandbox_deleted_through_one_process_ends_its_streams_on_the_other(fleet: Any, streams: Any) -> None:
    first, second = fleet
    minted = httpx.post(f"{first.base_url}/_sandbox/sandboxes").json()
    keys = {(key["parent_organization_id"] is None, "admin" in key["scopes"]): key["token"] for key in minted["keys"]}
    stream = streams(second, keys[(False, True)])
    stream.next("ready")
    deleted = httpx.delete(f"{first.base_url}/_sandbox/sandboxes/current", headers=auth(keys[(True, True)]))
    assert deleted.status_code == 204
    assert stream.until_end().json()["reason"] == "sandbox_deleted"
    assert stream.ended()


def test_a_place_whose_process_died_lapses_and_a_live_stream_renews_its_own() -> None:
    from sandbox.base.memory_state import MemoryState

    now = [1000.0]
    registry = StreamRegistry(MemoryState(), limit=2, lease=15.0, now=lambda: now[0])
    assert registry.admit("alive", "a1") and registry.admit("dead", "d1")
    assert not registry.admit("third", "t1") and not registry.has_room("third")
    assert registry.has_room("dead")  # its own listener id may always take its place again
    now[0] += 10
    assert registry.renew({"alive": "a1"}) == set()  # the live one renews; the dead process does not
    now[0] += 10  # the dead one's lease ran out, the live one's not
    assert registry.count() == 1 and registry.admit("third", "t1")
    assert registry.renew({"alive": "a1"}) == set()
    assert registry.admit("alive", "a2")  # a reconnect takes the place …
    assert registry.renew({"alive": "a1"}) == {"alive"}  # … and the old stream learns it was replaced
    registry.release("alive", "a1")  # the old one ending frees nothing of the new one's
    assert registry.count() == 2
    registry.release("alive", "a2")
    assert registry.count() == 1


def test_a_writes_events_are_numbered_in_its_commit_whether_or_not_streams_are_open(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, streams: Any
) -> None:
    import redis

    from sandbox.web.app import sandbox_of

    here, trips = threading.get_ident(), [0]
    send = redis.Connection.send_packed_command

    def counted(connection: Any, command: Any, check_health: bool = True) -> None:
        if threading.get_ident() == here:  # the request's own round trips (the test client runs it here)
            trips[0] += 1
        send(connection, command, check_health)

    monkeypatch.setattr(redis.Connection, "send_packed_command", counted)
    database = fresh_database(redis_url)
    server, other = LiveSandbox(STORE=database), LiveSandbox(STORE=database)
    try:
        client, token = server.app.test_client(), server.keys["write"]

        def post_lead() -> int:
            before = trips[0]
            response = client.post("/api/v1/leads", headers=auth(token), json={"name": "Ada", "email": "a@example.com"})
            assert response.status_code == 201
            return trips[0] - before

        post_lead()  # the first use of each script loads it
        with monkeypatch.context() as patch:  # the feed appending after the commit, as on the memory store
            patch.setattr(sandbox_of(server.app).feed, "_log_on_commit", lambda *args: None)
            post_lead()  # its append script loaded
            separate = post_lead()
        alone = post_lead()
        # The audit.log.event and lead.created are stored with the lead, in one write: numbered on their
        # own they cost one round trip together; numbered in the write's commit, none …
        assert separate - alone == 1
        opened = [streams(server), streams(other)]  # a stream here and one on the other process
        for stream in opened:
            stream.next("ready")
        listened = post_lead()
        assert listened == alone  # … and none more while streams are open (they read on their own threads)
        for stream in opened:  # both streams get the write's events
            assert {message.json()["type"] for message in stream.webhooks(2)} == {"lead.created", "audit.log.event"}
    finally:
        server.close()
        other.close()


def test_on_a_redis_cluster_too(redis_cluster_url: str, streams: Any) -> None:
    """The session's cluster is shared with other suites' fleet, so this test streams a sandbox it mints."""
    cluster = "redis-cluster://" + redis_cluster_url.removeprefix("redis://").rsplit("/", 1)[0]
    first, second = LiveSandbox(STORE=cluster, STREAM_KEEPALIVE=0.2), LiveSandbox(STORE=cluster, STREAM_KEEPALIVE=0.2)
    try:
        minted = httpx.post(f"{first.base_url}/_sandbox/sandboxes").json()
        location = next(key["organization_id"] for key in minted["keys"] if key["parent_organization_id"])
        keys = {
            "admin" if "admin" in key["scopes"] else "write" if "write" in key["scopes"] else "read": key["token"]
            for key in minted["keys"]
            if key["organization_id"] == location
        }
        stream = streams(second, keys["admin"], deliveries=True, listener_id="laptop")  # both logs in one script
        stream.next("ready")
        emitted = []
        for server in (first, second, first):
            response = httpx.post(
                f"{server.base_url}/_sandbox/trigger", headers=auth(keys["write"]), json={"event": "lead.created"}
            )
            assert response.status_code == 201, response.text
            emitted += [event["id"] for event in response.json()["events"]]
        assert [message.json()["id"] for message in stream.webhooks(len(emitted))] == emitted
        again = streams(first, keys["admin"], listener_id="laptop")
        assert again.status == 200 and again.next("ready")
        assert stream.until_end().json()["reason"] == "replaced"
    finally:
        first.close()
        second.close()
