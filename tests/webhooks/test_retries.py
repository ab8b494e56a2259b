"""Retries: failing receivers still get every event exactly once; deletion and 410 stop them."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.base.clock import Clock, Tasks, parse_iso
from sandbox.services.webhooks import RetrySchedule, WebhookService, urls
from tests.webhooks.receiver import FAST_RETRIES, ORG, Receiver, wait_until


def test_a_receiver_failing_its_first_requests_still_gets_every_event_once(
    make_service: Callable[..., WebhookService], receiver: Receiver, run_out: Callable[..., None]
) -> None:
    service = make_service(timeout=0.3)
    receiver.fail_first(3, 500)
    receiver.fail_first(2, 504, sleep=0.6)  # slower than the client timeout
    receiver.fail_first(2, 429, headers={"Retry-After": "0"})
    service.create_subscription(ORG, receiver.url, ["lead.created", "call.received"], None)
    events = [service.emit(ORG, "lead.created" if n % 2 else "call.received", {"n": n}) for n in range(20)]
    run_out(service)
    delivered = Counter(r.event_id for r in receiver.delivered())
    assert delivered == Counter({event["id"]: 1 for event in events if event})
    retried = [r for r in receiver.requests if r.headers["x-eal-delivery-attempt"] != "1"]
    assert retried, "some events needed a second attempt"


def test_retries_keep_the_event_id_and_re_sign_with_a_fresh_timestamp(
    make_service: Callable[..., WebhookService], receiver: Receiver, run_out: Callable[..., None]
) -> None:
    service = make_service()
    receiver.fail_first(2, 500)
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    event = service.emit(ORG, "lead.created", {})
    run_out(service)
    assert event is not None
    attempts = receiver.requests
    assert [r.headers["x-eal-delivery-attempt"] for r in attempts] == ["1", "2", "3"]
    assert {r.event_id for r in attempts} == {event["id"]}
    assert len({r.headers["x-eal-delivery-id"] for r in attempts}) == 3
    log = service.deliveries(ORG, record["id"])
    assert [(d["attempt"], d["status"], d["response_status"]) for d in log] == [
        (3, "delivered", 200),
        (2, "retrying", 500),
        (1, "retrying", 500),
    ]
    assert log[1]["next_attempt_at"] is not None and log[1]["error"] == "endpoint answered HTTP 500"


def test_after_the_last_attempt_the_delivery_is_failed(
    make_service: Callable[..., WebhookService], receiver: Receiver, run_out: Callable[..., None]
) -> None:
    service = make_service(schedule=RetrySchedule(base_seconds=0.01, max_attempts=3))
    receiver.always(500)
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    service.emit(ORG, "lead.created", {})
    run_out(service)
    assert len(receiver.requests) == 3
    assert [d["status"] for d in service.deliveries(ORG, record["id"])] == ["failed", "retrying", "retrying"]


def test_retry_after_is_honoured_on_429(
    make_service: Callable[..., WebhookService], receiver: Receiver, clock: Clock
) -> None:
    service = make_service(schedule=RetrySchedule(base_seconds=0.01, max_attempts=3))
    receiver.fail_first(1, 429, headers={"Retry-After": "1"})
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    service.emit(ORG, "lead.created", {})
    assert service.settle(None, 5)
    clock.advance(timedelta(seconds=0.9))  # the backoff alone (0.01 s) would have retried by now
    assert service.settle(None, 5) and len(receiver.requests) == 1
    clock.advance(timedelta(seconds=0.1))
    assert service.settle(None, 5) and len(receiver.requests) == 2
    retrying = service.deliveries(ORG, record["id"])[1]
    assert retrying["response_status"] == 429
    wait = parse_iso(retrying["next_attempt_at"]) - parse_iso(retrying["delivered_at"])
    assert wait == timedelta(seconds=1)


def test_410_disables_the_subscription(make_service: Callable[..., WebhookService], receiver: Receiver) -> None:
    service = make_service()
    receiver.fail_first(1, 410)
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    service.emit(ORG, "lead.created", {})
    assert service.settle(None, 5)
    service.emit(ORG, "lead.created", {})
    assert service.settle(None, 5)
    assert len(receiver.requests) == 1
    subscription = service.subscriptions.get(ORG, record["id"])
    assert subscription is not None and subscription["enabled"] is False
    assert service.deliveries(ORG, record["id"])[0]["status"] == "failed"


def test_a_deleted_subscription_gets_nothing_more_not_even_queued_retries(
    make_service: Callable[..., WebhookService], receiver: Receiver, clock: Clock
) -> None:
    service = make_service(schedule=RetrySchedule(base_seconds=0.3, max_attempts=5, jitter=0))
    receiver.always(500)
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    for n in range(5):
        service.emit(ORG, "lead.created", {"n": n})
    assert service.settle(None, 5) and service.next_retry_at() is not None  # five retries parked
    service.delete_subscription(ORG, record["id"])
    assert service.next_retry_at() is None, "deleting cancels the parked retries"
    service.emit(ORG, "lead.created", {})
    clock.advance(timedelta(seconds=1))  # past the first retry's due time
    assert service.settle(None, 5)
    assert len(receiver.requests) == 5
    assert service.store.count("delivery", ORG) == 0


def test_retries_follow_a_virtual_clock(make_service: Callable[..., WebhookService], receiver: Receiver) -> None:
    tasks = Tasks()
    frozen = Clock.make(datetime(2026, 4, 27, 17, 0, tzinfo=UTC), frozen=True, dispatch=tasks.run)
    service = make_service(clock=frozen, tasks=tasks, schedule=RetrySchedule(base_seconds=60, max_attempts=3, jitter=0))
    receiver.fail_first(1, 503)
    first_id = service.create_subscription(ORG, receiver.url, ["lead.created"], None)[0]["id"]
    service.emit(ORG, "lead.created", {})
    wait_until(lambda: [d["status"] for d in service.deliveries(ORG, first_id)] == ["retrying"])
    assert service.settle(None, 5) and service.next_retry_at() is not None, "the retry waits for the clock"
    frozen.advance(timedelta(seconds=59))
    assert len(receiver.requests) == 1
    frozen.advance(timedelta(seconds=1))
    assert service.settle(None, 5)
    first, second = receiver.requests
    # Re-signed for the retry, with a wall-clock timestamp a receiver's 5-minute check accepts.
    assert int(first.headers["x-eal-timestamp"]) <= int(second.headers["x-eal-timestamp"]) <= time.time() + 1
    assert first.headers["x-eal-event-id"] == second.headers["x-eal-event-id"]


def test_the_url_is_checked_again_before_every_attempt(
    make_service: Callable[..., WebhookService],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    run_out: Callable[..., None],
) -> None:
    service = make_service(schedule=FAST_RETRIES)
    port = int(receiver.url.split(":")[2].split("/")[0])
    record, _ = service.create_subscription(ORG, f"http://localhost:{port}/hook", ["lead.created"], None)

    def rebound(host: str, *args: object, **kwargs: object) -> list[tuple]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(urls.socket, "getaddrinfo", rebound)  # DNS now points inside
    service.emit(ORG, "lead.created", {})
    run_out(service)
    assert receiver.requests == []
    log = service.deliveries(ORG, record["id"])
    assert log[0]["status"] == "failed" and "10.0.0.7" in log[0]["error"]
