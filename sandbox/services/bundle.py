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

from ..base.clock import Clock, isoformat
from ..base.ids import IdFactory
from ..base.overlay import OverlayStore
from ..base.settings import Settings
from .audit import AuditLog
from .auth import ApiKey, KeyRing
from .journal import Journal
from .limits import RequestLimits
from .quotas import Admission, Quotas
from .scenarios import ScenarioBehaviour, ScenarioRuns
from .signed_urls import SignedUrls
from .webhooks import WebhookService
from .webhooks.feed import EventFeed
from .webhooks.recorder import EmittedEvents
from .world import WorldInfo


class Lifetime:
    """When a sandbox was made and when it expires: ``ttl`` after it was last used (None: never)."""

    def __init__(self, ttl: timedelta | None) -> None:
        self.ttl = ttl
        self.created_at = datetime.now(UTC)
        self._lock = threading.Lock()
        self._last_used = time.time()

    def touch(self) -> None:
        with self._lock:
            self._last_used = time.time()

    @property
    def last_used(self) -> float:
        return self._last_used

    @property
    def expires_at(self) -> datetime | None:
        if self.ttl is None:
            return None
        return datetime.fromtimestamp(self._last_used, UTC) + self.ttl

    def expired(self, now: float | None = None) -> bool:
        return self.ttl is not None and (now if now is not None else time.time()) >= self._last_used + \
            self.ttl.total_seconds()

    def view(self) -> dict[str, Any]:
        expires = self.expires_at
        return {"created_at": isoformat(self.created_at), "expires_at": None if expires is None else isoformat(expires),
                "ttl_seconds": None if self.ttl is None else int(self.ttl.total_seconds())}


@dataclass(frozen=True, eq=False)
class SandboxServices:
    """One sandbox: its seeded world, its keys and every service acting on it."""

    id: str
    settings: Settings
    lifetime: Lifetime
    clock: Clock
    store: OverlayStore
    ids: IdFactory
    world: WorldInfo
    seeded_keys: tuple[ApiKey, ...]  # the seed's keys with this sandbox's tokens, network first
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

    def rng(self, *parts: Any) -> random.Random:
        """A Random seeded from the world seed and ``parts``: same inputs, same draws."""
        return random.Random("|".join(map(str, (self.settings.SEED, *parts))))

    def is_seeded(self, org_id: str) -> bool:
        """Whether the organization comes from the seed (not created through the API)."""
        return org_id == self.world.parent_org_id or org_id in self.world.child_org_ids

    def reset(self, org_id: str | None = None) -> None:
        """Put the whole sandbox, or one organization's records, back to the seed."""
        self.webhooks.forget(org_id)
        with self.store.transaction():
            # An organization created through the API is not in the seed: resetting it clears its
            # records but keeps the tenant itself (its organization record and keys).
            identity = [] if org_id is None or self.is_seeded(org_id) else [
                ("organization", self.store.get("organization", None, org_id)),
                *(("api_key", key) for key in self.store.scan("api_key", org_id))]
            self.store.reset(org_id)
            for kind, record in identity:
                if record is not None:
                    self.store.insert(kind, record)
        if org_id is None:
            self.keys.replace(self.seeded_keys)
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
        """Stop everything the sandbox had pending (timers, deliveries, streams) and forget its keys."""
        self.feed.close("sandbox_expired" if self.lifetime.expired() else "sandbox_deleted")
        self.runs.stop_all()
        self.clock.stop()
        self.webhooks.close()
        self.keys.clear()
