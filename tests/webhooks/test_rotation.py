"""Secret rotation: 24 hours in which either secret verifies, then only the new one."""

from __future__ import annotations

import time
from datetime import timedelta

from sandbox.base.clock import Clock
from sandbox.services.webhooks import WebhookService, verify_signature
from tests.webhooks.receiver import ORG, Receiver, node_sample_verifies


def deliver_one(service: WebhookService, receiver: Receiver) -> tuple[bytes, dict[str, str], float]:
    """Emit one event and return what the receiver got, with the receiver's (real) now."""
    count = len(receiver.requests)
    service.emit(ORG, "lead.updated", {"lead_id": "l1"})
    assert service.settle(None, 5)
    request = receiver.requests[count]
    return request.body, request.headers, time.time()


def test_either_secret_verifies_for_24_hours_then_only_the_new_one(
    service: WebhookService, receiver: Receiver, clock: Clock
) -> None:
    record, old = service.create_subscription(ORG, receiver.url, ["lead.updated"], None)
    rotated, new = service.rotate_secret(ORG, record["id"])
    assert new != old and rotated["signing_secret_prefix"] == new[:12]

    body, headers, now = deliver_one(service, receiver)
    assert verify_signature(body, headers, old, now=now)
    assert verify_signature(body, headers, new, now=now)
    assert not verify_signature(body, headers, "whsec_never_issued", now=now)

    clock.advance(timedelta(hours=23, minutes=59))
    body, headers, now = deliver_one(service, receiver)
    assert verify_signature(body, headers, old, now=now) and verify_signature(body, headers, new, now=now)

    clock.advance(timedelta(minutes=1, seconds=1))
    body, headers, now = deliver_one(service, receiver)
    assert not verify_signature(body, headers, old, now=now)
    assert verify_signature(body, headers, new, now=now)
    assert "x-eal-signature-previous" not in headers
    assert node_sample_verifies(new, receiver.requests[-1])


def test_a_strict_equality_receiver_works_as_soon_as_it_deploys_the_new_secret(
    service: WebhookService, receiver: Receiver
) -> None:
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.updated"], None)
    _, new = service.rotate_secret(ORG, record["id"])
    deliver_one(service, receiver)
    assert node_sample_verifies(new, receiver.requests[-1])


def test_the_overlap_ends_when_the_clock_passes_24_hours(
    service: WebhookService, receiver: Receiver, clock: Clock
) -> None:
    record, old = service.create_subscription(ORG, receiver.url, ["lead.updated"], None)
    service.rotate_secret(ORG, record["id"])
    clock.advance(timedelta(hours=24))
    stored = service.subscriptions.get(ORG, record["id"])
    assert stored is not None and [s["secret"] for s in stored["_secrets"]] != [old]
    assert len(stored["_secrets"]) == 1 and old not in service.subscriptions.signing_secrets(stored)


def test_rotating_twice_keeps_both_earlier_secrets_for_their_window(
    service: WebhookService, receiver: Receiver, clock: Clock
) -> None:
    record, first = service.create_subscription(ORG, receiver.url, ["lead.updated"], None)
    service.rotate_secret(ORG, record["id"])
    clock.advance(timedelta(hours=12))
    _, third = service.rotate_secret(ORG, record["id"])
    body, headers, now = deliver_one(service, receiver)
    assert len(headers["x-eal-signature-previous"].split(",")) == 2
    assert verify_signature(body, headers, first, now=now)
    clock.advance(timedelta(hours=12, seconds=1))
    body, headers, now = deliver_one(service, receiver)
    assert not verify_signature(body, headers, first, now=now)
    assert verify_signature(body, headers, third, now=now)
