"""The webhook service: subscriptions, event fan-out, background delivery, retries, replay.

``emit`` stores the event, tells the observers given at construction, finds the organization's
matching subscriptions and, once the event is committed, queues one fan-out job; a worker serializes
the event and queues one attempt per subscription. A failed attempt is retried by a clock task
(``webhook.retry``), so advancing a virtual clock fires due retries. Deleting a subscription cancels
its retries, and an attempt already queued or running checks the subscription again before it sends
or logs anything. ``settle`` waits for an organization's work in flight, never for retries parked on
the clock. Jobs are plain JSON (see ``queue``), so in a fleet they wait in Redis for any process.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from ...base.clock import Clock, Tasks, isoformat
from ...base.ids import IdFactory
from ...base.state import State
from ...base.store import Record, Store
from .delivery import Attempt, Outcome, Sender, default_client, event_body
from .inflight import Epochs, InFlight
from .log import DeliveryLog
from .queue import DeliveryQueue, Job, LocalQueue, QueueFactory
from .schedule import RetrySchedule
from .subscriptions import EVENT_TYPES, Subscriptions, public_view
from .workers import DeliveryWorkers

logger = logging.getLogger("sandbox.webhooks")
EventObserver = Callable[[Record], None]  # told of every event emitted, on the emitting thread
RETRY_TASK, EXPIRY_TASK = "webhook.retry", "webhook.secret_expiry"


class WebhookTap(Protocol):
    """Told what listeners see besides emitted events (``feed.EventFeed``): replays and attempts."""

    def replayed(self, event: Record) -> None: ...

    def attempt_started(self, record: Record, attempt: Attempt, signing_secrets: list[str], url: str) -> None: ...

    def attempt_finished(self, record: Record) -> None: ...


class Transport:
    """What every sandbox's webhook service shares: the delivery workers and the HTTP sender."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        allow_private: bool = False,
        workers: int = 8,
        per_owner: int | None = None,
        per_endpoint: int = 2,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.workers = DeliveryWorkers(workers, per_owner, per_endpoint)
        self._client, self._owns_client = http_client or default_client(timeout, workers), http_client is None
        self.sender = Sender(self._client, timeout=timeout, allow_private=allow_private)

    def close(self) -> None:
        self.workers.shutdown()
        if self._owns_client:
            self._client.close()


class WebhookService:
    """Signed, retried, logged delivery of every organization's events to its subscriptions."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ids: IdFactory,
        state: State,
        tasks: Tasks,
        *,
        transport: Transport | None = None,
        queue: QueueFactory | None = None,
        owner: str = "sandbox",
        schedule: RetrySchedule | None = None,
        observers: Sequence[EventObserver] = (),
        max_previous_secrets: int = 5,
        tap: WebhookTap | None = None,
        **own_transport: Any,
    ) -> None:
        """``transport`` is shared with the other sandboxes of the process (``owner`` names this one in
        it); without one the service makes its own from ``own_transport`` (``Transport``'s options).
        ``queue`` makes where jobs wait (default: this process's delivery workers)."""
        self.store, self.clock, self.ids, self.state = store, clock, ids, state
        self.owner = owner
        self.schedule = schedule or RetrySchedule()
        self._owns_transport = transport is None
        self.transport = transport or Transport(**own_transport)
        self.subscriptions = Subscriptions(
            store,
            clock,
            ids,
            allow_private=self.transport.allow_private,
            max_previous_secrets=max_previous_secrets,
            state=state,
        )
        self.log = DeliveryLog(store, state)
        self._in_flight = InFlight(state)
        self._epochs = Epochs(state)
        self._observers = tuple(observers)
        self._tap = tap
        self._lock = threading.Lock()
        self._closed = False
        make_queue = queue or (lambda owner, in_flight, run: LocalQueue(self.transport.workers, owner, in_flight, run))
        self.queue: DeliveryQueue = make_queue(owner, self._in_flight, self.run_job)
        tasks.register(RETRY_TASK, self._retry_due)
        tasks.register(
            EXPIRY_TASK, lambda payload: self.subscriptions.expire_secrets(payload["org_id"], payload["webhook_id"])
        )
        # Deliveries happen on pool threads in no fixed order; drawing their ids and jitter from
        # the world's generator would make every later id depend on thread timing.
        seed = repr(ids.state())
        self._delivery_ids = IdFactory(random.Random(seed + "|deliveries"))
        self._jitter = random.Random(seed + "|jitter")

    def create_subscription(
        self, org_id: str, url: str, events: list[str], description: str | None = None
    ) -> tuple[Record, str]:
        """Subscribe ``url`` to ``events``; return the record and its signing secret."""
        return self.subscriptions.create(org_id, url, events, description)

    def rotate_secret(self, org_id: str, webhook_id: str) -> tuple[Record, str]:
        """Issue a new signing secret; the previous one keeps verifying for 24 hours."""
        rotated = self.subscriptions.rotate(org_id, webhook_id)
        if rotated is None:
            raise KeyError(f"no webhook {webhook_id} in organization {org_id}")
        return rotated

    def delete_subscription(self, org_id: str, webhook_id: str) -> Record | None:
        """Remove a subscription and stop its deliveries at once, queued retries included."""
        with self.store.transaction():
            record = self.subscriptions.delete(org_id, webhook_id)
        if record is not None:
            self.clock.cancel(f"webhook:{webhook_id}")
            self.log.remove(webhook_id)
        return record

    @staticmethod
    def public_view(record: Record) -> dict[str, Any]:
        """The subscription without its internal fields (secrets)."""
        return public_view(record)

    def deliveries(self, org_id: str, webhook_id: str, limit: int = 100) -> list[Record]:
        """The subscription's last ``limit`` delivery attempts, newest first."""
        return self.log.recent(org_id, webhook_id, limit)

    def emit(self, org_id: str, event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """Store an event and deliver it in the background; None once the service is closed."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
        if self._closed:
            return None
        event = {
            "id": self.ids.prefixed("evt"),
            "type": event_type,
            "created_at": isoformat(self.clock.now()),
            "organization_id": org_id,
            "data": data,
        }
        with self.store.transaction():
            self.store.insert("event", event)
            for observe in self._observers:
                observe(event)
            # The subscriptions at the moment of the event get it; the many events nobody subscribes to
            # never wake a worker.
            targets = [s["id"] for s in self.subscriptions.matching(org_id, event_type)]
            if targets:  # queued with the event, never for one a failed transaction leaves out
                job = {
                    "kind": "fan_out",
                    "org_id": org_id,
                    "event": event,
                    "targets": targets,
                    "epoch": self._epochs.current(org_id),
                }
                self.queue.put_on_commit(self.store, job)
        return event

    def replay_event(self, org_id: str, event_id: str, webhook_id: str | None = None) -> int | None:
        """Deliver a stored event again (same id, fresh signature); None if there is no such event."""
        event = self.store.get("event", org_id, event_id)
        if event is None:
            return None
        targets = [
            s["id"]
            for s in self.subscriptions.matching(org_id, event["type"])
            if webhook_id is None or s["id"] == webhook_id
        ]
        if webhook_id is None and self._tap is not None:
            self._tap.replayed(event)  # a replay to every subscription reaches the listeners too
        return self._fan_out(event, targets, self._epochs.current(org_id))

    def replay_delivery(self, org_id: str, delivery_id: str) -> int | None:
        """Deliver a logged attempt's event again to its subscription; None if no such delivery."""
        delivery = self.log.get(org_id, delivery_id)
        if delivery is None:
            return None
        return self.replay_event(org_id, delivery["event_id"], delivery["webhook_id"]) or 0

    def run_job(self, job: Job) -> None:
        """Do one queued job: a fan-out or an attempt."""
        if job["kind"] == "fan_out":
            self._fan_out(job["event"], job["targets"], tuple(job["epoch"]))
        else:
            self._attempt(job)

    def _fan_out(self, event: Record, webhook_ids: list[str], epoch: tuple[int, int]) -> int:
        """Serialize the event once and queue one attempt per subscription; return how many."""
        org_id = event["organization_id"]
        if not webhook_ids or self._epochs.stale(org_id, epoch):
            return 0
        body = event_body(event).decode()
        for webhook_id in webhook_ids:
            job = {
                "kind": "attempt",
                "org_id": org_id,
                "webhook_id": webhook_id,
                "event_id": event["id"],
                "event_type": event["type"],
                "body": body,
                "number": 1,
                "epoch": list(epoch),
            }
            self.queue.put(job, self._endpoint(job))
        return len(webhook_ids)

    def _attempt(self, job: Job) -> None:
        """Send one attempt, unless the subscription has gone or been disabled meanwhile."""
        now = self.clock.now()
        with self.store.transaction():
            subscription = None if self._gone(job) else self.subscriptions.get(job["org_id"], job["webhook_id"])
            if subscription is None or not subscription["enabled"]:
                return
            # X-EAL-Timestamp is wall-clock time even when the sandbox clock has been advanced: it is
            # what receivers hold against their own clock to refuse replays (5 minutes).
            attempt = Attempt(
                self._new_delivery_id(),
                job["event_id"],
                job["event_type"],
                job["body"].encode(),
                job["number"],
                int(time.time()),
            )
            pending = self.log.start(self._pending_record(job, attempt.delivery_id, isoformat(now)))
        signing_secrets = self.subscriptions.signing_secrets(subscription)
        if self._tap is not None:
            self._tap.attempt_started(pending, attempt, signing_secrets, subscription["url"])
        outcome = self.transport.sender.send(subscription["url"], attempt, signing_secrets)
        self._settle(job, attempt, outcome, isoformat(now))

    def _settle(self, job: Job, attempt: Attempt, outcome: Outcome, attempted_at: str) -> None:
        """Log the outcome, update the subscription, and schedule a retry if one is due."""
        final = outcome.ok or outcome.gone or job["number"] >= self.schedule.max_attempts
        delay = None if final else self.schedule.delay(job["number"], self._jitter, outcome.retry_after)
        next_at = None if delay is None else self.clock.now() + timedelta(seconds=delay)
        status = "delivered" if outcome.ok else "failed" if final else "retrying"
        with self.store.transaction():
            if self._gone(job):
                return  # deleted or reset while the request was in flight
            finished = self.log.finish(
                job["org_id"],
                attempt.delivery_id,
                {
                    "status": status,
                    "response_status": outcome.response_status,
                    "latency_ms": outcome.latency_ms,
                    "error": outcome.error,
                    "next_attempt_at": None if next_at is None else isoformat(next_at),
                },
            )
            if finished is not None and self._tap is not None:
                self._tap.attempt_finished(finished)
            changes: dict[str, Any] = {
                "last_delivery_at": attempted_at,
                "last_delivery_status": outcome.response_status,
            }
            if outcome.gone:  # 410 Gone: the receiver asks us to stop for good
                changes["enabled"] = False
            self.subscriptions.update(job["org_id"], job["webhook_id"], changes)
        if outcome.gone:
            self.clock.cancel(f"webhook:{job['webhook_id']}")
        elif next_at is not None:
            self.clock.call_at(
                next_at, RETRY_TASK, {**job, "number": job["number"] + 1}, tag=f"webhook:{job['webhook_id']}"
            )

    def _retry_due(self, job: Job) -> None:
        if not self._closed:
            self.queue.put(job, self._endpoint(job))

    def _pending_record(self, job: Job, delivery_id: str, attempted_at: str) -> Record:
        return {
            "id": delivery_id,
            "organization_id": job["org_id"],
            "webhook_id": job["webhook_id"],
            "event": job["event_type"],
            "event_id": job["event_id"],
            "status": "pending",
            "response_status": None,
            "latency_ms": 0,
            "attempt": job["number"],
            "delivered_at": attempted_at,
            "created_at": attempted_at,
            "error": None,
            "next_attempt_at": None,
        }

    def _new_delivery_id(self) -> str:
        with self._lock:
            return self._delivery_ids.prefixed("whd")

    def _endpoint(self, job: Job) -> str | None:
        """The host and port the job's subscription delivers to (attempts to one are capped)."""
        subscription = self.subscriptions.get(job["org_id"], job["webhook_id"])
        return None if subscription is None else urlsplit(subscription["url"]).netloc.lower()

    def _gone(self, job: Job) -> bool:
        """Whether the job's subscription was deleted, or its organization reset, since queued."""
        if self._closed or self._epochs.stale(job["org_id"], job["epoch"]):
            return True
        return self.subscriptions.get(job["org_id"], job["webhook_id"]) is None

    def forget(self, org_id: str | None = None) -> None:
        """Drop in-flight work, retries and log indexes for an organization (all if None) before a reset."""
        webhook_ids = {record["id"] for record in self.store.scan("webhook", org_id)}
        self._epochs.bump(org_id)
        for webhook_id in webhook_ids:
            self.clock.cancel(f"webhook:{webhook_id}")
        self.log.forget(webhook_ids)

    def next_retry_at(self) -> datetime | None:
        """When the earliest retry parked on the clock is due, or None."""
        return min((due for due, task in self.clock.tasks() if task["name"] == RETRY_TASK), default=None)

    def settle(self, org_id: str | None, timeout: float) -> bool:
        """Wait until none of the organization's (anyone's, if None) work is queued or being sent;
        retries parked on the clock are not waited for. False if ``timeout`` passes first."""
        return self._in_flight.wait_idle(org_id, timeout)

    def close(self) -> None:
        """Stop accepting work and drop what is queued (the sandbox is gone)."""
        with self._lock:
            self._closed = True
        self.queue.drop()
        if self._owns_transport:
            self.transport.close()
