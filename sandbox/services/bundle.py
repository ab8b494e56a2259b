"""``SandboxServices``: one sandbox — its identity, lifetime and every service acting on its world.

Handlers receive it on every request (``ApiRequest.sandbox``). It is built once per sandbox by
``sandbox.composition`` and never re-wired afterwards: each service got its collaborators in its
constructor. ``reset`` puts the sandbox (or one organization in it) back to its seed.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..base.clock import Clock, Tasks, isoformat
from ..base.ids import IdFactory
from ..base.overlay import SandboxStore
from ..base.settings import Settings
from ..base.state import Read, Spend, State
from .audit import AuditLog
from .auth import KeyRing
from .journal import Journal
from .limits import RequestLimits
from .quotas import Admission, Quotas
from .scenarios import ScenarioBehaviour, ScenarioRuns
from .signed_urls import SignedUrls
from .webhooks import WebhookService
from .webhooks.feed import EventFeed
from .webhooks.recorder import EmittedEvents
from .webhooks.subscriptions import SUBSCRIBED
from .world import WorldInfo


class Lifetime:
    """When a sandbox was made and when it expires: ``ttl`` after it was last used (None: never).

    Kept in the sandbox's ``State`` (a fleet's processes extend the same life). ``establish`` sets a
    new sandbox's; a process attaching to an existing sandbox reads it.
    """

    def __init__(self, state: State) -> None:
        self.state = state

    def establish(self, ttl: timedelta | None) -> None:
        now = time.time()
        self.state.put("lifetime", {"created_at": now, "ttl": None if ttl is None else ttl.total_seconds()})
        self.state.put("last-used", now)

    def _fields(self) -> dict[str, Any]:
        return self.state.get("lifetime") or {"created_at": time.time(), "ttl": None}

    @property
    def ttl(self) -> timedelta | None:
        seconds = self._fields()["ttl"]
        return None if seconds is None else timedelta(seconds=seconds)

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self._fields()["created_at"], UTC)

    READS: tuple[Read, ...] = (("get", "lifetime"), ("get", "last-used"))

    @property
    def exists(self) -> bool:
        """False once the sandbox is deleted (by any process of a fleet)."""
        return self.state.get("lifetime") is not None

    def touch(self) -> None:
        self.state.put("last-used", time.time())

    @property
    def last_used(self) -> float:
        return float(self.state.get("last-used") or 0.0)

    @property
    def expires_at(self) -> datetime | None:
        ttl = self.ttl
        return None if ttl is None else datetime.fromtimestamp(self.last_used, UTC) + ttl

    def expired(self, now: float | None = None, last_used: float | None = None) -> bool:
        """Whether it was idle past its ttl at ``now`` (default: now), since ``last_used`` (default: its last use)."""
        ttl = self._fields()["ttl"]
        since = self.last_used if last_used is None else last_used
        return ttl is not None and (now if now is not None else time.time()) >= since + ttl

    def view(self) -> dict[str, Any]:
        expires, ttl = self.expires_at, self.ttl
        return {
            "created_at": isoformat(self.created_at),
            "expires_at": None if expires is None else isoformat(expires),
            "ttl_seconds": None if ttl is None else int(ttl.total_seconds()),
        }


@dataclass(frozen=True, eq=False)
class SandboxServices:
    """One sandbox: its seeded world, its keys and every service acting on it."""

    id: str
    settings: Settings
    state: State
    tasks: Tasks
    lifetime: Lifetime
    clock: Clock
    store: SandboxStore
    ids: IdFactory
    world: WorldInfo
    keys: KeyRing
    limits: RequestLimits
    webhooks: WebhookService
    emitted: EmittedEvents
    audit: AuditLog
    journal: Journal
    signed_urls: SignedUrls
    behaviour: ScenarioBehaviour
    runs: ScenarioRuns
    quotas: Quotas
    admission: Admission
    feed: EventFeed  # what listeners stream: its events, numbered, and its delivery attempts
    _ids_state: object = field(repr=False)  # where reproducible run-time ids restart after a reset
    # set once it is deleted (``destroy``): requests still finishing in it write nothing more to it
    destroyed: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def rng(self, *parts: Any) -> random.Random:
        """A Random seeded from the world seed and ``parts``: same inputs, same draws."""
        return random.Random("|".join(map(str, (self.settings.SEED, *parts))))

    def is_seeded(self, org_id: str) -> bool:
        """Whether the organization comes from the seed (not created through the API)."""
        return org_id == self.world.parent_org_id or org_id in self.world.child_org_ids

    def request_reads(self, token: str) -> list[Read]:
        """What every request with ``token`` reads of the sandbox's state: prefetched at once (``State.prefetched``)."""
        return [
            ("hget", "keys", token),
            *Lifetime.READS,
            *self.anonymous_reads(),
            ("get", "rl-generation"),
            ("hall", SUBSCRIBED),
            ("get", self.quotas.events.name()),
        ]

    def request_spends(self, token: str) -> list[Spend]:
        """The rate-limit counter a request with ``token`` will probably spend on (``State.prefetched``)."""
        return self.limits.likely_spends(token)

    @staticmethod
    def anonymous_reads() -> list[Read]:
        """What every request reads, with a key or without: the clock and the scenarios in force."""
        return [("get", "clock"), ("hall", "in-force")]

    def reset(self, org_id: str | None = None) -> None:
        """Put the whole sandbox, or one organization's records, back to the seed."""
        self.webhooks.forget(org_id)
        with self.store.transaction():
            # An organization created through the API is not in the seed: resetting it clears its
            # records but keeps the tenant itself (its organization record and keys).
            identity = (
                []
                if org_id is None or self.is_seeded(org_id)
                else [
                    ("organization", self.store.get("organization", None, org_id)),
                    *(("api_key", key) for key in self.store.scan("api_key", org_id)),
                ]
            )
            self.store.reset(org_id)
            for kind, record in identity:
                if record is not None:
                    self.store.insert(kind, record)
        if org_id is None:
            self.keys.restore()
            self.journal.reset()
            self.runs.stop_all()
            self.clock.reset()
            if self.settings.REPRODUCIBLE_IDS:
                self.ids.restore(self._ids_state)
            self.limits.clear()
        else:
            self.journal.clear(org_id)
            self.runs.stop(org_id)

    def close(self) -> None:
        """This process lets go of the sandbox: its clock, deliveries and streams stop here (its state stays;
        a stream still open ends as the sandbox's was deleted, by this process or another)."""
        self.feed.close("sandbox_deleted")
        self.clock.stop()
        self.webhooks.close()

    def destroy(self) -> None:
        """The sandbox is deleted: its keys stop working, its timers, deliveries, records and state go."""
        self.destroyed.set()
        self.feed.close("sandbox_expired" if self.lifetime.expired() else "sandbox_deleted")
        self.keys.clear()
        self.close()
        self.store.drop()
        self.state.drop()
