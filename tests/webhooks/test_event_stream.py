"""The sandbox's event stream (GET /_sandbox/events/stream) over real HTTP: what it carries, how it
resumes, its bounds, and when it ends — on the memory store and on Redis (``new_store``: the servers these
tests start keep the feed in a fresh database). Every wait is on a message arriving, bounded in time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox.services.webhooks import verify_signature
from sandbox.services.webhooks.delivery import event_body
from tests.streams import StreamClient
from tests.support import LiveSandbox, Receiver, auth, keys_by_role


@pytest.fixture
def live(new_store: Callable[[], str]) -> Iterator[LiveSandbox]:
    running = LiveSandbox(STORE=new_store(), STREAM_KEEPALIVE=0.2, STREAM_BACKLOG=5)
    yield running
    running.close()


@pytest.fixture
def streams(live: LiveSandbox) -> Iterator[Any]:
    opened: list[StreamClient] = []

    def open_stream(token: str | None = None, **options: Any) -> StreamClient:
        stream = StreamClient(live.base_url, token or live.keys["admin"], **options)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def trigger(live: LiveSandbox, event: str = "lead.created", token: str | None = None, count: int = 1) -> list[str]:
    """Trigger an event; the ids of every event it emitted, oldest first."""
    response = httpx.post(
        f"{live.base_url}/_sandbox/trigger",
        headers=auth(token or live.keys["write"]),
        json={"event": event, "count": count},
    )
    assert response.status_code == 201, response.text
    return [emitted["id"] for emitted in response.json()["events"]]


def ids_of(messages: list[Any]) -> list[str]:
    return [message.json()["id"] for message in messages]


def test_ready_then_each_event_as_the_exact_delivery_body(live: LiveSandbox, streams: Any) -> None:
    stream = streams()
    assert stream.status == 200 and stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    ready = stream.next("ready").json()
    listener = httpx.get(f"{live.base_url}/_sandbox/listener", headers=auth(live.keys["admin"])).json()
    assert ready["sandbox_id"] == listener["sandbox_id"] == live.sandbox.id
    assert ready["signing_secret"] == listener["signing_secret"]
    assert ready["signing_secret"].startswith("whsec_") and len(ready["signing_secret"]) == 38

    emitted = trigger(live)
    got = stream.webhooks(len(emitted))
    assert ids_of(got) == emitted
    for message in got:  # byte for byte what a delivery of the stored event carries
        stored = live.sandbox.store.get("event", None, message.json()["id"])
        assert message.data.encode() == event_body(stored)
    assert stream.next(": keep-alive").event == ": keep-alive"  # an idle stream stays talkative


def test_every_organization_of_the_sandbox_and_only_the_types_asked(live: LiveSandbox, streams: Any) -> None:
    everything, leads_only = streams(), streams(types="lead.created")
    network_write = next(
        key["token"]
        for key in live.sandbox.world.keys
        if key["organization_id"] == live.sandbox.world.parent_org_id and "write" in key["scopes"]
    )
    mine, theirs = trigger(live), trigger(live, token=network_write)
    assert ids_of(everything.webhooks(len(mine + theirs))) == mine + theirs
    leads = leads_only.webhooks(2)
    assert [message.json()["type"] for message in leads] == ["lead.created", "lead.created"]
    assert {message.json()["organization_id"] for message in leads} == {
        live.sandbox.world.child_org_ids[0],
        live.sandbox.world.parent_org_id,
    }


def test_resuming_with_last_event_id_loses_nothing_and_repeats_nothing(live: LiveSandbox, streams: Any) -> None:
    first = streams()
    first.next("ready")
    seen = first.webhooks(len(trigger(live)))
    last = seen[-1].id
    first.close()
    missed = trigger(live, "lead.updated")  # while no one listens
    again = streams(last_event_id=last)
    assert again.next("ready").json()["resumed_after"] == last
    assert ids_of(again.webhooks(len(missed))) == missed
    later = trigger(live)
    assert ids_of(again.webhooks(len(later))) == later  # and live again after the catch-up
    seqs = [int(message.id.rpartition(".")[2]) for message in seen]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # numbered without holes


def test_past_the_backlog_a_gap_says_how_many_were_missed(live: LiveSandbox, streams: Any) -> None:
    first = streams()
    first.next("ready")
    last = first.webhooks(len(trigger(live)))[-1].id
    first.close()
    missed = trigger(live, count=4)  # 8 events; the backlog holds 5
    again = streams(last_event_id=last)
    gap = again.next("gap").json()
    assert gap["missed"] == 3 and gap["bound"] == 5
    held = again.webhooks(5)
    assert ids_of(held) == missed[3:] and gap["resumes_at"] == held[0].id


@pytest.mark.parametrize("foreign", ["zzzzzzzzzz.41", "not an id"])
def test_an_id_of_another_feed_resumes_from_this_feeds_start(live: LiveSandbox, streams: Any, foreign: str) -> None:
    emitted = trigger(live)  # before any stream: the feed keeps them all the same
    stream = streams(last_event_id=foreign)  # as after a restart: this feed is all new to the client
    assert ids_of(stream.webhooks(len(emitted))) == emitted


def test_backlog_starts_a_fresh_stream_some_events_back(live: LiveSandbox, streams: Any) -> None:
    emitted = trigger(live, count=2)
    assert ids_of(streams(backlog=3).webhooks(3)) == emitted[-3:]


def test_refused_positions_types_and_keys(live: LiveSandbox, streams: Any) -> None:
    newest = httpx.get(f"{live.base_url}/_sandbox/listener", headers=auth(live.keys["admin"])).json()
    token = live.sandbox.feed.token
    ahead = streams(last_event_id=f"{token}.{(newest['backlog']['events'] or 0) + 5}")
    assert ahead.status == 400 and ahead.error["error"]["details"]["fields"][0]["location"] == "header.Last-Event-ID"
    assert streams(types="lead.exploded").status == 400
    assert streams(live.keys["write"]).status == 403  # a listener stands in for the whole sandbox: admin
    assert streams("eal_test_nope").status == 401


def test_replays_reach_the_stream_with_the_same_event_id(live: LiveSandbox, streams: Any) -> None:
    stream = streams()
    stream.next("ready")
    event_id = trigger(live)[-1]
    stream.webhooks(2)
    response = httpx.post(
        f"{live.base_url}/_sandbox/webhooks/events/{event_id}/replay", headers=auth(live.keys["write"])
    )
    assert response.status_code == 202
    replayed = stream.next("webhook")
    assert replayed.json()["id"] == event_id and replayed.id != event_id


def test_delivery_attempts_are_pushed_with_what_was_signed(live: LiveSandbox, streams: Any) -> None:
    receiver = Receiver(status=500)
    try:
        created = httpx.post(
            f"{live.base_url}/api/v1/webhooks",
            headers=auth(live.keys["admin"]),
            json={"url": receiver.url, "events": ["lead.created"]},
        ).json()
        stream = streams(deliveries=True)
        stream.next("ready")
        event_id = trigger(live)[-1]
        attempt = stream.next("delivery").json()
        while attempt["status"] == "pending":
            attempt = stream.next("delivery").json()
        assert attempt["event_id"] == event_id and attempt["status"] == "retrying"
        assert attempt["response_status"] == 500 and attempt["error"] == "endpoint answered HTTP 500"
        assert attempt["next_attempt_at"] is not None and attempt["url"] == receiver.url
        sent = receiver.wait_for(1)[0]
        request = attempt["request"]
        assert request["body"].encode() == sent.body
        assert {name.lower(): value for name, value in request["headers"].items()} == {
            name: value
            for name, value in sent.headers.items()
            if name.lower().startswith(("x-eal-", "content-type")) or name == "user-agent"
        }
        assert request["signed_content"] == f"{sent.headers['x-eal-timestamp']}.{sent.body.decode()}"
        assert verify_signature(sent.body, request["headers"], created["signing_secret"])
        listed = httpx.get(
            f"{live.base_url}/_sandbox/webhooks/deliveries",
            params={"event_id": event_id},
            headers=auth(live.keys["admin"]),
        ).json()["data"]
        assert listed[-1]["id"] == attempt["id"] and listed[-1]["request"] == request
    finally:
        receiver.close()


def test_bounded_per_sandbox_and_the_same_listener_replaces_itself(live: LiveSandbox, streams: Any) -> None:
    first = streams(listener_id="laptop")
    first.next("ready")
    second, third = streams(), streams()
    refused = streams()
    assert refused.status == 429
    assert refused.error["error"]["details"]["quota"] == "streams_per_sandbox"
    assert refused.headers["retry-after"] == "5"
    again = streams(listener_id="laptop")  # the same client reconnecting before its old stream was noticed gone
    assert again.status == 200 and again.next("ready").json()["listener_id"] == "laptop"
    assert first.until_end().json()["reason"] == "replaced"
    assert second.status == third.status == 200


def test_a_stream_is_never_a_request_in_progress(new_store: Callable[[], str]) -> None:
    live = LiveSandbox(STORE=new_store(), QUOTA_CONCURRENT_REQUESTS=1, STREAM_KEEPALIVE=0.2)
    try:
        stream = StreamClient(live.base_url, live.keys["admin"])
        stream.next("ready")
        answered = httpx.get(f"{live.base_url}/api/v1/leads?limit=1", headers=auth(live.keys["read"]))
        assert answered.status_code == 200  # the one request allowed in progress is free
        stream.close()
    finally:
        live.close()


def test_streams_end_when_the_sandbox_is_deleted_or_reaches_the_lifetime(
    live: LiveSandbox, new_store: Callable[[], str]
) -> None:
    minted = httpx.post(f"{live.base_url}/_sandbox/sandboxes").json()
    keys = {(key["parent_organization_id"] is None, "admin" in key["scopes"]): key["token"] for key in minted["keys"]}
    stream = StreamClient(live.base_url, keys[(False, True)])
    try:
        stream.next("ready")
        deleted = httpx.delete(f"{live.base_url}/_sandbox/sandboxes/current", headers=auth(keys[(True, True)]))
        assert deleted.status_code == 204
        assert stream.until_end().json()["reason"] == "sandbox_deleted"
        assert stream.ended()
    finally:
        stream.close()
    short = LiveSandbox(STORE=new_store(), STREAM_LIFETIME=0.3, STREAM_KEEPALIVE=0.1)
    try:
        lasting = StreamClient(short.base_url, keys_by_role(short.sandbox)["admin"])
        assert lasting.until_end().json()["reason"] == "lifetime"
        lasting.close()
    finally:
        short.close()


def test_the_listener_secret_is_the_sandboxs_for_life(live: LiveSandbox) -> None:
    def secret() -> str:
        return str(
            httpx.get(f"{live.base_url}/_sandbox/listener", headers=auth(live.keys["admin"])).json()["signing_secret"]
        )

    before = secret()
    network_admin = next(
        key["token"]
        for key in live.sandbox.world.keys
        if key["organization_id"] == live.sandbox.world.parent_org_id and "admin" in key["scopes"]
    )
    reset = httpx.post(f"{live.base_url}/_sandbox/reset", headers=auth(network_admin), json={"scope": "world"})
    assert reset.status_code == 200, reset.text
    assert secret() == before
    other = httpx.post(f"{live.base_url}/_sandbox/sandboxes").json()
    admin = next(key["token"] for key in other["keys"] if "admin" in key["scopes"])
    theirs = httpx.get(f"{live.base_url}/_sandbox/listener", headers=auth(admin)).json()["signing_secret"]
    assert theirs != before
    assert json.dumps(other).count(theirs) == 0  # never in the sandbox's creation answer either
