"""Delivery to a real loopback receiver: every event type, signed, scoped to its organization."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest

from sandbox.services.webhooks import EVENT_TYPES, WebhookService, verify_signature
from sandbox.services.webhooks.delivery import Sender
from tests.webhooks.receiver import ORG, OTHER_ORG, Receiver, node_sample_verifies

EXPECTED_EVENT_TYPES = (
    "call.received",
    "call.classified",
    "call.qualified",
    "lead.created",
    "lead.updated",
    "outreach.email.sent",
    "outreach.email.replied",
    "claim.scope.ready",
    "review.requested",
    "review.received",
    "audit.log.event",
)


def test_event_types_are_the_seeds_eleven_in_order() -> None:
    assert EVENT_TYPES == EXPECTED_EVENT_TYPES


def test_every_event_type_is_delivered_and_verifies_with_the_node_sample(
    service: WebhookService, receiver: Receiver
) -> None:
    _, secret = service.create_subscription(ORG, receiver.url, list(EVENT_TYPES), "all events")
    events = [service.emit(ORG, kind, {"n": n, "name": "Ana Müller"}) for n, kind in enumerate(EVENT_TYPES)]
    assert service.settle(None, 5)
    received = {r.headers["x-eal-event-type"]: r for r in receiver.delivered()}
    assert sorted(received) == sorted(EVENT_TYPES)
    for event in events:
        assert event is not None
        request = received[event["type"]]
        assert node_sample_verifies(secret, request)
        assert "x-eal-signature-previous" not in request.headers
        assert json.loads(request.body) == {
            k: event[k] for k in ("id", "type", "created_at", "organization_id", "data")
        }
        assert request.body == json.dumps(json.loads(request.body), separators=(",", ":")).encode()
        assert request.headers["x-eal-event-id"] == event["id"]


def test_delivery_headers(service: WebhookService, receiver: Receiver) -> None:
    record, secret = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    event = service.emit(ORG, "lead.created", {"lead_id": "l1"})
    assert service.settle(None, 5) and event is not None
    (request,) = receiver.delivered()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "EAL-Sandbox-Webhooks/1.0"
    assert abs(int(request.headers["x-eal-timestamp"]) - time.time()) < 5  # wall clock, not the sandbox's
    assert request.headers["x-eal-delivery-attempt"] == "1"
    assert request.headers["x-eal-delivery-id"].startswith("whd_")
    assert verify_signature(request.body, request.headers, secret)


def test_a_localhost_url_is_pinned_to_the_vetted_address_but_keeps_its_host(
    service: WebhookService, receiver: Receiver
) -> None:
    url = receiver.url.replace("127.0.0.1", "localhost")
    service.create_subscription(ORG, url, ["lead.created"], None)
    service.emit(ORG, "lead.created", {})
    assert service.settle(None, 5)
    (request,) = receiver.delivered()
    assert request.headers["host"] == url.split("/")[2]


def test_only_the_events_organization_and_subscribed_types_receive_it(
    service: WebhookService, make_receiver: Callable[[], Receiver]
) -> None:
    mine, theirs, other_type = make_receiver(), make_receiver(), make_receiver()
    service.create_subscription(ORG, mine.url, ["lead.created"], None)
    service.create_subscription(OTHER_ORG, theirs.url, ["lead.created"], None)
    service.create_subscription(ORG, other_type.url, ["call.received"], None)
    service.emit(ORG, "lead.created", {"lead_id": "l1"})
    assert service.settle(None, 5)
    assert len(mine.delivered()) == 1
    assert theirs.requests == [] and other_type.requests == []


def test_emit_returns_at_once_and_never_sends_on_the_callers_thread(
    make_service: Callable[..., WebhookService], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    senders: set[str] = set()
    send = Sender.send
    monkeypatch.setattr(
        Sender, "send", lambda self, *args: senders.add(threading.current_thread().name) or send(self, *args)
    )
    service = make_service(timeout=5.0)
    receiver.hold()  # no delivery can finish: an emit that waited for one would never return
    service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    events = [service.emit(ORG, "lead.created", {"n": n}) for n in range(50)]
    assert all(event is not None for event in events)
    receiver.wait_for(1)
    # Every emit has returned while the deliveries it queued are still waiting on the receiver.
    assert not service.settle(None, 0), "emit must not wait for its deliveries"
    receiver.release()
    assert service.settle(None, 10)
    assert len(receiver.delivered()) == 50
    assert threading.current_thread().name not in senders


def test_emit_stores_the_event_even_without_subscribers(service: WebhookService) -> None:
    event = service.emit(ORG, "review.received", {"rating": 5})
    assert event is not None and event["id"].startswith("evt_")
    assert service.store.get("event", ORG, event["id"]) == event
    with pytest.raises(ValueError, match="unknown"):
        service.emit(ORG, "lead.deleted", {})


def test_deliveries_log_newest_first_and_subscription_summary(service: WebhookService, receiver: Receiver) -> None:
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    service.emit(ORG, "lead.created", {"n": 1})
    assert service.settle(None, 5)
    service.emit(ORG, "lead.created", {"n": 2})
    assert service.settle(None, 5)
    newest, oldest = service.deliveries(ORG, record["id"])
    assert newest["status"] == oldest["status"] == "delivered"
    assert newest["id"] == receiver.delivered()[1].headers["x-eal-delivery-id"]
    assert {k: newest[k] for k in ("event", "response_status", "attempt", "error", "next_attempt_at")} == {
        "event": "lead.created",
        "response_status": 200,
        "attempt": 1,
        "error": None,
        "next_attempt_at": None,
    }
    assert isinstance(newest["latency_ms"], int) and newest["delivered_at"].endswith("Z")
    subscription = service.subscriptions.get(ORG, record["id"])
    assert subscription is not None
    assert subscription["last_delivery_status"] == 200
    assert subscription["last_delivery_at"] == newest["delivered_at"]
    assert service.deliveries(OTHER_ORG, record["id"]) == []


def test_the_log_keeps_the_last_100_attempts(service: WebhookService, receiver: Receiver) -> None:
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.updated"], None)
    for n in range(105):
        service.emit(ORG, "lead.updated", {"n": n})
    assert service.settle(None, 10)
    assert len(service.deliveries(ORG, record["id"])) == 100
    assert service.store.count("delivery", ORG) == 100


def test_public_view_hides_the_secrets(service: WebhookService, receiver: Receiver) -> None:
    record, secret = service.create_subscription(ORG, receiver.url, ["lead.created"], "CRM bridge")
    view = service.public_view(record)
    assert set(view) == {
        "id",
        "organization_id",
        "url",
        "events",
        "description",
        "enabled",
        "created_at",
        "last_delivery_at",
        "last_delivery_status",
        "signing_secret_prefix",
    }
    assert view["signing_secret_prefix"] == secret[:12] and secret.startswith("whsec_")
    assert secret not in json.dumps(view)


def test_replay_sends_the_same_event_id_with_a_fresh_signature(service: WebhookService, receiver: Receiver) -> None:
    record, secret = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    event = service.emit(ORG, "lead.created", {"lead_id": "l1"})
    assert service.settle(None, 5) and event is not None
    assert service.replay_event(ORG, event["id"]) == 1
    assert service.settle(None, 5)
    (delivery, _) = service.deliveries(ORG, record["id"])
    assert service.replay_delivery(ORG, delivery["id"]) == 1
    assert service.settle(None, 5)
    first, *replays = receiver.delivered()
    assert [r.event_id for r in replays] == [event["id"], event["id"]]
    assert all(r.body == first.body and node_sample_verifies(secret, r) for r in replays)
    assert len({r.headers["x-eal-delivery-id"] for r in (first, *replays)}) == 3
    assert service.replay_event(ORG, "evt_missing") is None
    assert service.replay_event(OTHER_ORG, event["id"]) is None
    assert service.replay_delivery(ORG, "whd_missing") is None


def test_creating_a_subscription_checks_the_url(service: WebhookService) -> None:
    from sandbox.services.webhooks import EndpointRefused

    with pytest.raises(EndpointRefused):
        service.create_subscription(ORG, "https://169.254.169.254/latest", ["lead.created"], None)
    with pytest.raises(ValueError, match="unknown"):
        service.create_subscription(ORG, "https://8.8.8.8/hook", ["lead.exploded"], None)
