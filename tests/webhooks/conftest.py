"""Fixtures: loopback receivers and webhook services that deliver to them."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.base.clock import Clock, Tasks
from sandbox.base.ids import IdFactory
from sandbox.base.memory_state import MemoryState
from sandbox.base.store import MemoryStore
from sandbox.services.webhooks import WebhookService
from tests.webhooks.receiver import FAST_RETRIES, Receiver


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
def tasks() -> Tasks:
    """What the clock's tasks do: each service registers its retry and secret-expiry handlers."""
    return Tasks()


@pytest.fixture
def clock(tasks: Tasks) -> Clock:
    """A frozen virtual clock: retries fire only when a test advances it (``run_out`` does)."""
    return Clock.make(datetime(2026, 4, 27, 17, 0, tzinfo=UTC), frozen=True, dispatch=tasks.run)


@pytest.fixture
def make_service(clock: Clock, tasks: Tasks) -> Iterator[Callable[..., WebhookService]]:
    services: list[WebhookService] = []

    def make(**options: Any) -> WebhookService:
        options = {"schedule": FAST_RETRIES, "timeout": 0.5, "workers": 8, **options}
        service_clock, service_tasks = options.pop("clock", clock), options.pop("tasks", tasks)
        services.append(
            WebhookService(
                MemoryStore(), service_clock, IdFactory(random.Random(7)), MemoryState(), service_tasks, **options
            )
        )
        return services[-1]

    yield make
    for service in services:
        service.close()


@pytest.fixture
def service(make_service: Callable[..., WebhookService]) -> WebhookService:
    return make_service()


@pytest.fixture
def run_out() -> Callable[[WebhookService], None]:
    """Deliver everything a service has to send: its attempts in flight, then each retry parked on
    its clock, advancing the clock to it — no sleeps, whatever the schedule."""

    def run(service: WebhookService, rounds: int = 50) -> None:
        for _ in range(rounds):
            assert service.settle(None, 10), "attempts still in flight after 10 s"
            due = service.next_retry_at()
            if due is None:
                return
            service.clock.advance(max(due - service.clock.now(), timedelta(0)))
        raise AssertionError(f"retries still waiting after {rounds} rounds")

    return run
