"""``SandboxServices``: the services of one sandbox, as the composition layer wired them.

Handlers receive it on every request (``ApiRequest.sandbox``). It is built once per sandbox by
``sandbox.composition`` and never re-wired afterwards: each service got its collaborators in its
constructor. ``reset`` puts the sandbox (or one organization in it) back to its seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ..base.clock import Clock
from ..base.ids import IdFactory
from ..base.settings import Settings
from ..base.store import MemoryStore
from .audit import AuditLog
from .auth import KeyRing
from .journal import Journal
from .limits import RequestLimits
from .scenarios import ScenarioBehaviour, ScenarioRuns
from .signed_urls import SignedUrls
from .webhooks import WebhookService
from .webhooks.recorder import EmittedEvents
from .world import WorldInfo


@dataclass(frozen=True, eq=False)
class SandboxServices:
    """One sandbox: its seeded world and every service acting on it."""

    settings: Settings
    clock: Clock
    store: MemoryStore
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
    _snapshot: dict[str, Any] = field(repr=False)
    _ids_state: object = field(repr=False)

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
            self.store.restore(self._snapshot, org_id)
            for kind, record in identity:
                if record is not None:
                    self.store.insert(kind, record)
        self.keys.replace(self._keys_in_order())
        if org_id is None:
            self.journal.reset()
            self.runs.stop_all()
            self.clock.reset()
            self.ids.restore(self._ids_state)
            self.limits.clear()
        else:
            self.journal.clear(org_id)
            self.runs.stop(org_id)

    def _keys_in_order(self) -> list[dict[str, Any]]:
        """The stored keys in the ring's order, which is stable: it starts as the world lists its
        keys (network first) and takes issued keys at the end."""
        position = {key["id"]: index for index, key in enumerate(self.keys)}
        return sorted(self.store.scan("api_key"), key=lambda key: position.get(key["id"], len(position)))

    def close(self) -> None:
        self.clock.stop()
        self.webhooks.close()
