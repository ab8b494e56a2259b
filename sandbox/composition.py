"""Composition: the one place that wires services together.

``build_sandbox`` builds one sandbox — its clock, store, seeded world, keys, limits, webhooks,
audit log, journal, signed URLs and scenario state — each service getting its collaborators in its
constructor. ``SandboxDirectory`` holds the sandboxes of a process and finds a request's sandbox
from its key; ``Runtime`` is what the web layer serves: the directory, the operation registry, the
control plane and the request pipeline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .base.clock import Clock
from .base.ids import IdFactory
from .base.settings import Settings
from .base.store import MemoryStore
from .operations.control import ControlPlane
from .operations.pipeline import RequestPipeline
from .operations.registry import OperationRegistry, registry
from .services.audit import AuditLog
from .services.auth import ApiKey, KeyRing
from .services.bundle import SandboxServices
from .services.journal import Journal
from .services.limits import RequestLimits, Window
from .services.scenarios import ScenarioBehaviour, ScenarioRuns
from .services.signed_urls import SignedUrls, seeded_signing_key
from .services.webhooks import RetrySchedule, WebhookService
from .services.webhooks.recorder import EmittedEvents
from .services.world import WorldInfo, build_world


def _world_anchor(clock: Clock) -> datetime:
    # Anchor the world on the hour so two instances started close together agree.
    now = clock.now()
    anchor = now.replace(minute=0, second=0, microsecond=0)
    return anchor - timedelta(seconds=1) if anchor == now else anchor


def build_sandbox(settings: Settings) -> SandboxServices:
    """One sandbox, seeded from ``settings`` and wired; its clock's ticker is started."""
    clock = Clock(settings.CLOCK_START, frozen=settings.CLOCK_FROZEN)
    store = MemoryStore()
    ids = IdFactory(random.Random(settings.SEED))
    anchor = _world_anchor(clock)
    world: WorldInfo = build_world(store, seed=settings.SEED, anchor=anchor, ids=ids,
                                   leads_per_org=settings.LEADS_PER_ORG)
    emitted = EmittedEvents()
    webhooks = WebhookService(
        store, clock, ids,
        schedule=RetrySchedule(base_seconds=settings.WEBHOOK_RETRY_BASE, max_attempts=settings.WEBHOOK_MAX_ATTEMPTS),
        timeout=settings.WEBHOOK_TIMEOUT, allow_private=settings.ALLOW_PRIVATE_WEBHOOKS,
        observers=(emitted.observe,))
    behaviour = ScenarioBehaviour(settings.SEED)
    limits = RequestLimits(clock, Window(settings.RATE_LIMIT, settings.RATE_LIMIT_WINDOW), behaviour.window_for)
    sandbox = SandboxServices(
        settings=settings, clock=clock, store=store, ids=ids, world=world, keys=KeyRing(world.keys),
        limits=limits, webhooks=webhooks, emitted=emitted, audit=AuditLog(store, clock, ids, webhooks.emit),
        journal=Journal(), signed_urls=SignedUrls(seeded_signing_key(settings.SEED), clock),
        behaviour=behaviour, runs=ScenarioRuns(clock, behaviour, limits),
        _snapshot=store.snapshot(), _ids_state=ids.state())
    clock.start()
    return sandbox


class SandboxDirectory:
    """The sandboxes of this process, and which one a key belongs to."""

    def __init__(self, default: SandboxServices) -> None:
        self.default = default

    def authenticate(self, authorization: str | None) -> tuple[SandboxServices, ApiKey]:
        return self.default, self.default.keys.authenticate(authorization)

    def anonymous(self) -> SandboxServices:
        return self.default

    def close(self) -> None:
        self.default.close()


@dataclass(frozen=True, eq=False)
class Runtime:
    """Everything the web layer serves: the sandboxes and the operations that act on them."""

    settings: Settings
    sandboxes: SandboxDirectory
    registry: OperationRegistry
    control: ControlPlane
    pipeline: RequestPipeline

    @property
    def sandbox(self) -> SandboxServices:
        """The sandbox made at start-up (the one ``eal-sandbox serve`` prints the keys of)."""
        return self.sandboxes.default

    def close(self) -> None:
        self.sandboxes.close()


def build_runtime(settings: Settings) -> Runtime:
    """The process's operations (built once) over a directory holding one sandbox of ``settings``."""
    operations = registry()
    control = ControlPlane(operations)
    sandboxes = SandboxDirectory(build_sandbox(settings))
    return Runtime(settings, sandboxes, operations, control, RequestPipeline(operations, sandboxes, control))
