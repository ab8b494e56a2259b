"""The live sandbox: clock, store, seeded world, keys, limiter and webhooks of one app."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from .audit import AuditLog
from .auth import KeyRing
from .behaviour import Behaviour
from .clock import Clock
from .ids import IdFactory
from .journal import Journal
from .ratelimit import RateLimiter
from .scenarios.runtime import attach
from .settings import Settings
from .store import MemoryStore
from .webhooks import RetrySchedule, WebhookService
from .world import WorldInfo, build_world


class Sandbox:
    """Everything stateful behind one app, built once at start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock(settings.CLOCK_START, frozen=settings.CLOCK_FROZEN)
        self.store = MemoryStore()
        self.ids = IdFactory(random.Random(settings.SEED))
        self.world: WorldInfo = self._build_world()
        self.keys = KeyRing(self.world.keys)
        self.limiter = RateLimiter(self.clock, settings.RATE_LIMIT, settings.RATE_LIMIT_WINDOW)
        self.webhooks = WebhookService(
            self.store, self.clock, self.ids,
            schedule=RetrySchedule(base_seconds=settings.WEBHOOK_RETRY_BASE,
                                   max_attempts=settings.WEBHOOK_MAX_ATTEMPTS),
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_private=settings.ALLOW_PRIVATE_WEBHOOKS,
        )
        self.audit = AuditLog(self)
        self.behaviour = Behaviour(settings.SEED, self.clock)
        self.journal = Journal()
        self._snapshot = self.store.snapshot()
        self._ids_state = self.ids.state()
        self.scenarios = attach(self)
        self.clock.start()

    def _build_world(self) -> WorldInfo:
        # Anchor the world on the hour so two instances started close together agree.
        now = self.clock.now()
        anchor = now.replace(minute=0, second=0, microsecond=0)
        if anchor == now:
            anchor -= timedelta(seconds=1)
        return build_world(self.store, seed=self.settings.SEED, anchor=anchor, ids=self.ids,
                           leads_per_org=self.settings.LEADS_PER_ORG)

    def rng(self, *parts: Any) -> random.Random:
        """A Random seeded from the world seed and ``parts``: same inputs, same draws."""
        return random.Random("|".join(map(str, (self.settings.SEED, *parts))))

    def reset(self, org_id: str | None = None) -> None:
        """Put the whole world, or one organization's records, back to the seed."""
        self.webhooks.forget(org_id)
        with self.store.transaction():
            # An organization created through the API is not in the seed: resetting it clears its
            # records but keeps the tenant itself (its organization record and keys).
            identity = [] if org_id is None or self._seeded(org_id) else [
                ("organization", self.store.get("organization", None, org_id)),
                *(("api_key", key) for key in self.store.scan("api_key", org_id))]
            self.store.restore(self._snapshot, org_id)
            for kind, record in identity:
                if record is not None:
                    self.store.insert(kind, record)
        self.keys = KeyRing(self._keys_in_order())
        if org_id is None:
            self.journal.reset()
            self.scenarios.stop_all()
            self.clock.reset()
            self.ids.restore(self._ids_state)
            self.limiter.configure()
        else:
            self.journal.clear(org_id)
            self.scenarios.stop(org_id)

    def _seeded(self, org_id: str) -> bool:
        return org_id == self.world.parent_org_id or org_id in self.world.child_org_ids

    def _keys_in_order(self) -> list[dict[str, Any]]:
        """The stored keys in the ring's order, which is stable: it starts as the world lists its
        keys (network first) and takes issued keys at the end."""
        position = {key["id"]: index for index, key in enumerate(self.keys)}
        return sorted(self.store.scan("api_key"), key=lambda key: position.get(key["id"], len(position)))

    def close(self) -> None:
        self.clock.stop()
        self.webhooks.close()
