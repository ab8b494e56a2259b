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
        self.store.restore(self._snapshot, org_id)
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

    def _keys_in_order(self) -> list[dict[str, Any]]:
        """The stored keys, seeded ones in the world's order (network first), then newer ones oldest first."""
        seeded = {key["id"]: index for index, key in enumerate(self.world.keys)}
        return sorted(self.store.scan("api_key"),
                      key=lambda key: (seeded.get(key["id"], len(seeded)), key["created_at"], key["id"]))

    def close(self) -> None:
        self.clock.stop()
        self.webhooks.close()
