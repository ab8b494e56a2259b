"""Where delivery work waits for a worker: a job is a JSON-able dict (a fan-out of one event to its
subscriptions, or one attempt), so it can wait in this process (``LocalQueue``, over the shared
``DeliveryWorkers``) or in Redis for any process of a fleet (``composition``'s fleet queue).

A queue counts each job in flight, per organization, from ``put`` until it has run — the count
``WebhookService.settle`` waits on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ...base.store import Store
from .inflight import InFlight
from .workers import DeliveryWorkers

Job = dict[str, Any]


class DeliveryQueue(Protocol):
    def put(self, job: Job, endpoint: str | None = None) -> bool:
        """Queue ``job`` (counted in flight for its organization); False once the queue is closed."""
        ...

    def put_on_commit(self, store: Store, job: Job, endpoint: str | None = None) -> None:
        """Queue ``job`` once the transaction open on ``store`` commits — in the same atomic step
        where the store allows it, so a process killed in between never stores an event it does
        not deliver — and never if the transaction fails."""
        ...

    def drop(self) -> None:
        """Forget what waits (the sandbox is gone)."""
        ...


QueueFactory = Callable[[str, InFlight, Callable[[Job], None]], DeliveryQueue]


class LocalQueue:
    """Jobs wait for this process's delivery workers, in ``owner``'s turn."""

    def __init__(self, workers: DeliveryWorkers, owner: str, in_flight: InFlight, run: Callable[[Job], None]) -> None:
        self.workers, self.owner, self.in_flight, self.run = workers, owner, in_flight, run

    def put(self, job: Job, endpoint: str | None = None) -> bool:
        self.in_flight.add(job["org_id"])
        if not self.workers.submit(self.owner, lambda: self._run(job), endpoint):
            self.in_flight.done(job["org_id"])
            return False
        return True

    def put_on_commit(self, store: Store, job: Job, endpoint: str | None = None) -> None:
        store.after_commit(lambda: self.put(job, endpoint))  # one process: its death loses both anyway

    def _run(self, job: Job) -> None:
        try:
            self.run(job)
        finally:
            self.in_flight.done(job["org_id"])

    def drop(self) -> None:
        self.workers.drop(self.owner)
