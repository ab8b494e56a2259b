"""Composition: the one place that wires services together.

``SandboxDirectory`` builds and holds the sandboxes of a process: each is a whole world with its
own keys, clock, scheduler, journal, scenarios, limits, subscriptions and deliveries, over an
immutable seeded base shared by every sandbox of the same seed and size (``SeededWorlds``). What the
sandboxes share is process-wide: the base, the timer thread (``Ticker``) and the webhook delivery
workers (``Transport``). ``Runtime`` is what the web layer serves: the directory, the operation
registry, the control plane and the request pipeline.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from .base.clock import Clock, Ticker
from .base.errors import NotFound, QuotaExceeded, RateLimited, Unauthorized
from .base.ids import IdFactory, random_token, run_time_ids
from .base.overlay import OverlayStore, SeededBase
from .base.settings import Settings
from .base.store import MemoryStore
from .operations.control import ControlPlane
from .operations.pipeline import RequestPipeline
from .operations.registry import OperationRegistry, registry
from .services.audit import AuditLog
from .services.auth import ApiKey, KeyRing, bearer_token
from .services.bundle import Lifetime, SandboxServices
from .services.journal import Journal
from .services.limits import RateLimiter, RequestLimits, Window
from .services.quotas import Admission, EventBudget, Quotas
from .services.scenarios import ScenarioBehaviour, ScenarioRuns
from .services.signed_urls import SignedUrls
from .services.webhooks import RetrySchedule, Transport, WebhookService
from .services.webhooks.feed import EventFeed, StreamSlots, listener_secret
from .services.webhooks.recorder import EmittedEvents
from .services.world import WorldInfo, build_world

SWEEP_SECONDS = 30.0  # how often expired sandboxes are looked for (a request to one finds it at once)


def world_anchor(settings: Settings) -> datetime:
    """The instant the seeded world is anchored on: the hour the process (or its clock) started, so
    sandboxes made in one process, and two processes started in the same hour, agree."""
    now = Clock(settings.CLOCK_START, frozen=True).now()
    anchor = now.replace(minute=0, second=0, microsecond=0)
    return anchor - timedelta(seconds=1) if anchor == now else anchor


@dataclass(frozen=True, eq=False)
class SeededWorld:
    """A seed's world built once: its frozen records and what names them."""

    base: SeededBase
    info: WorldInfo


class SeededWorlds:
    """One ``SeededWorld`` per (seed, leads per organization, anchor), kept while a sandbox uses it."""

    def __init__(self, most: int = 32) -> None:
        self.most = most
        self._lock = threading.Lock()
        self._built: dict[tuple[int, int, datetime], SeededWorld] = {}
        self._users: dict[tuple[int, int, datetime], int] = {}

    def acquire(self, seed: int, leads_per_org: int, anchor: datetime) -> SeededWorld:
        """The world of that seed and size (built on first use); ``release`` it when done."""
        key = (seed, leads_per_org, anchor)
        with self._lock:  # one build at a time: two sandboxes of a new seed share the first build
            world = self._built.get(key)
            if world is None:
                if len(self._built) >= self.most:
                    raise QuotaExceeded("seeded_worlds", self.most,
                                        "this server holds that many distinct (seed, leads_per_org) worlds already; "
                                        "mint the sandbox with a seed and size already in use (the defaults are), "
                                        "or wait until sandboxes of other seeds expire")
                store = MemoryStore()
                info = build_world(store, seed=seed, anchor=anchor, ids=IdFactory.seeded(seed),
                                   leads_per_org=leads_per_org)
                world = self._built[key] = SeededWorld(SeededBase(store), info)
            self._users[key] = self._users.get(key, 0) + 1
        return world

    def release(self, seed: int, leads_per_org: int, anchor: datetime) -> None:
        """One sandbox of that world is gone; the last one takes the world with it."""
        key = (seed, leads_per_org, anchor)
        with self._lock:
            users = self._users.get(key, 0) - 1
            if users > 0:
                self._users[key] = users
            else:
                self._users.pop(key, None)
                self._built.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._built)


class SandboxDirectory:
    """The sandboxes of this process, which one a key belongs to, and their lifetimes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.anchor = world_anchor(settings)
        self.worlds = SeededWorlds(settings.MAX_SEEDED_WORLDS)
        self.ticker = Ticker()
        self.transport = Transport(timeout=settings.WEBHOOK_TIMEOUT, allow_private=settings.ALLOW_PRIVATE_WEBHOOKS,
                                   workers=settings.WEBHOOK_WORKERS, per_endpoint=settings.WEBHOOK_ENDPOINT_IN_FLIGHT)
        self.streams = StreamSlots(settings.STREAMS_MAX)
        wall = Clock()  # abuse limits run on real time, whatever a sandbox's clock does
        self._creations = RateLimiter(wall, Window(settings.SANDBOX_CREATIONS_PER_MINUTE, 60))
        self._keyless = RateLimiter(wall, Window(settings.KEYLESS_REQUESTS_PER_MINUTE, 60))
        self._lock = threading.RLock()
        self._sandboxes: dict[str, SandboxServices] = {}
        self._tokens: dict[str, str] = {}  # token -> sandbox id
        self._sweeper = Clock(ticker=self.ticker)
        self._sweeper.call_at(self._sweeper.now() + timedelta(seconds=SWEEP_SECONDS), self._sweep_and_reschedule)
        # The sandbox made at start-up never expires; locally it keeps the seed's tokens (`eal-sandbox keys`),
        # hosted it gets random ones like any other (the seed's are public).
        self.default = self.create(seeded_tokens=not settings.HOSTED, ttl=None)

    # TokenIndex ----------------------------------------------------------------------------------

    def claim(self, token: str, sandbox_id: str) -> None:
        with self._lock:
            self._tokens[token] = sandbox_id

    def release(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    # Sandboxes -----------------------------------------------------------------------------------

    def create(self, *, seed: int | None = None, leads_per_org: int | None = None,
               ttl: timedelta | None = None, seeded_tokens: bool = False,
               client_address: str | None = None) -> SandboxServices:
        """A new sandbox of ``seed`` (the server's by default), ready to serve; minting is limited per
        ``client_address``, and a full directory evicts its longest-idle sandbox first."""
        if client_address is not None:
            self._limit(self._creations, client_address, "sandbox creations per minute from one address")
        if len(self) >= self.settings.MAX_SANDBOXES:
            self._evict_longest_idle()
        settings = dataclasses.replace(self.settings, SEED=self.settings.SEED if seed is None else seed,
                                       LEADS_PER_ORG=leads_per_org or self.settings.LEADS_PER_ORG)
        world = self.worlds.acquire(settings.SEED, settings.LEADS_PER_ORG, self.anchor)
        sandbox = self._build(settings, world, ttl, seeded_tokens)
        with self._lock:
            self._sandboxes[sandbox.id] = sandbox
        return sandbox

    def _build(self, settings: Settings, world: SeededWorld, ttl: timedelta | None,
               seeded_tokens: bool) -> SandboxServices:
        sandbox_id = random_token("sbx_", 24)
        clock = Clock(settings.CLOCK_START, frozen=settings.CLOCK_FROZEN, ticker=self.ticker)
        store = OverlayStore(world.base)
        ids = run_time_ids(settings.SEED, settings.REPRODUCIBLE_IDS)
        emitted, budget = EmittedEvents(), EventBudget(settings.QUOTA_EVENTS_PER_MINUTE)
        seeded_keys = tuple(world.info.keys if seeded_tokens else
                            ({**key, "token": random_token("eal_test_")} for key in world.info.keys))
        feed = EventFeed(self.streams, secret=listener_secret(seeded_keys[0]["token"]), backlog=settings.STREAM_BACKLOG,
                         attempts=settings.INSPECTOR_ATTEMPTS, per_sandbox=settings.STREAMS_PER_SANDBOX,
                         after_commit=store.after_commit)
        retries = RetrySchedule(base_seconds=settings.WEBHOOK_RETRY_BASE, max_attempts=settings.WEBHOOK_MAX_ATTEMPTS)
        webhooks = WebhookService(store, clock, ids, transport=self.transport, owner=sandbox_id,
                                  observers=(emitted.observe, budget.observe, feed.observe), schedule=retries,
                                  max_previous_secrets=settings.QUOTA_ROTATIONS_IN_OVERLAP, tap=feed)
        behaviour = ScenarioBehaviour(settings.SEED, max_latency_ms=settings.QUOTA_LATENCY_MS)
        limits = RequestLimits(clock, Window(settings.RATE_LIMIT, settings.RATE_LIMIT_WINDOW), behaviour.window_for,
                               sandbox_id=sandbox_id)
        return SandboxServices(
            id=sandbox_id, settings=settings, lifetime=Lifetime(ttl), clock=clock, store=store, ids=ids,
            world=world.info, seeded_keys=seeded_keys, keys=KeyRing(seeded_keys, sandbox_id=sandbox_id, index=self),
            limits=limits, webhooks=webhooks, emitted=emitted, audit=AuditLog(store, clock, ids, webhooks.emit),
            journal=Journal(max_bytes=settings.QUOTA_JOURNAL_BYTES), signed_urls=SignedUrls(clock, sandbox_id),
            behaviour=behaviour, runs=ScenarioRuns(clock, behaviour, limits), quotas=Quotas(settings, store, budget),
            admission=Admission(settings.QUOTA_CONCURRENT_REQUESTS), feed=feed, _ids_state=ids.state())

    def _evict_longest_idle(self) -> None:
        with self._lock:
            idle = [sandbox for sandbox in self._sandboxes.values() if sandbox.lifetime.ttl is not None]
        if idle:
            self.delete(min(idle, key=lambda sandbox: sandbox.lifetime.last_used))

    @staticmethod
    def _limit(limiter: RateLimiter, address: str, what: str) -> None:
        try:
            limiter.hit(address)
        except RateLimited as limited:  # said as the quota it is
            wait = int(limited.headers.get("Retry-After", "60"))
            raise QuotaExceeded(what.replace(" ", "_"), limiter.window.limit,
                                f"at most {limiter.window.limit} {what}; wait {wait} s", retry_after=wait,
                                details={"client_address": address}) from None

    def limit_anonymous(self, client_address: str) -> None:
        """Count one request without a key from ``client_address`` (429 ``quota_exceeded`` past the limit)."""
        self._limit(self._keyless, client_address, "requests without a key per minute from one address")

    def find(self, sandbox_id: str) -> SandboxServices | None:
        with self._lock:
            sandbox = self._sandboxes.get(sandbox_id)
        if sandbox is not None and sandbox.lifetime.expired():
            self.delete(sandbox)
            return None
        return sandbox

    def delete(self, sandbox: SandboxServices) -> None:
        """Forget a sandbox: its keys stop working at once, its timers and deliveries are dropped."""
        with self._lock:
            if self._sandboxes.pop(sandbox.id, None) is None:
                return
        sandbox.close()
        self.worlds.release(sandbox.settings.SEED, sandbox.settings.LEADS_PER_ORG, self.anchor)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sandboxes)

    def sweep(self, now: float | None = None) -> int:
        """Delete every expired sandbox; returns how many."""
        with self._lock:
            expired = [sandbox for sandbox in self._sandboxes.values() if sandbox.lifetime.expired(now)]
        for sandbox in expired:
            self.delete(sandbox)
        return len(expired)

    def _sweep_and_reschedule(self) -> None:
        try:
            self.sweep()
        finally:
            self._sweeper.call_at(self._sweeper.now() + timedelta(seconds=SWEEP_SECONDS), self._sweep_and_reschedule)

    # The pipeline's Sandboxes ---------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> tuple[SandboxServices, ApiKey]:
        token = bearer_token(authorization)
        with self._lock:
            sandbox_id = self._tokens.get(token)
        sandbox = None if sandbox_id is None else self.find(sandbox_id)
        key = None if sandbox is None else sandbox.keys.find(token)
        if sandbox is None or key is None:
            raise Unauthorized("Unknown API key: it is not a key of any live sandbox here (a deleted or "
                               "expired sandbox's keys stop working)")
        sandbox.lifetime.touch()
        return sandbox, key

    def anonymous(self, sandbox_id: str | None = None) -> SandboxServices:
        """The sandbox a request without a key acts in: the one it names, else the start-up one."""
        if sandbox_id is None:
            return self.default
        sandbox = self.find(sandbox_id)
        if sandbox is None:
            raise NotFound(f"No live sandbox '{sandbox_id}' (deleted or expired)", details={"sandbox": sandbox_id})
        return sandbox

    def close(self) -> None:
        self.streams.close()
        with self._lock:
            sandboxes = list(self._sandboxes.values())
            self._sandboxes.clear()
        for sandbox in sandboxes:
            sandbox.close()
        self._sweeper.stop()
        self.ticker.stop()
        self.transport.close()


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
    """The process's operations (built once) over a directory of sandboxes made from ``settings``."""
    operations = registry()
    sandboxes = SandboxDirectory(settings)
    control = ControlPlane(operations, sandboxes)
    pipeline = RequestPipeline(operations, sandboxes, control, max_correlation_id=settings.MAX_CORRELATION_ID)
    return Runtime(settings, sandboxes, operations, control, pipeline)

