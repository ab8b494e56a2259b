"""Fixtures: loopback receivers and webhook services that deliver to them."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from webhook_fixtures import FAST_RETRIES, Receiver

from sandbox.clock import Clock
from sandbox.ids import IdFactory
from sandbox.store import MemoryStore
from sandbox.webhooks import WebhookService


@pytest.fixture
def make_receiver() -> Iterator[Callable[[], Receiver]]:
    receivers: list[Receiver] = []

    def make() -> Receiver:
        receivers.append(Receiver())
        return receivers[-1]

    yield make
    for receiver in receivers:
        receiver.close()


@pytest.fixture
def receiver(make_receiver: Callable[[], Receiver]) -> Receiver:
    return make_receiver()


@pytest.fixture
def clock() -> Iterator[Clock]:
    """A real-time clock whose ticker fires retries; tests may still ``advance`` it."""
    running = Clock()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def make_service(clock: Clock) -> Iterator[Callable[..., WebhookService]]:
    services: list[WebhookService] = []

    def make(**options: Any) -> WebhookService:
        options = {"schedule": FAST_RETRIES, "timeout": 0.5, "workers": 8, **options}
        service_clock = options.pop("clock", clock)
        services.append(WebhookService(MemoryStore(), service_clock, IdFactory(random.Random(7)), **options))
        return services[-1]

    yield make
    for service in services:
        service.close()


@pytest.fixture
def service(make_service: Callable[..., WebhookService]) -> WebhookService:
    return make_service()
