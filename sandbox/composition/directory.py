"""The directory of sandboxes: building each one's services, finding a request's, their lifetimes.

A sandbox is a whole world with its own keys, clock, scheduler, journal, scenarios, limits,
subscriptions and deliveries, over an immutable seeded base shared by every sandbox of the same seed
and size (``SeededWorlds``, rebuilt by each process from the seed: it never goes to Redis). Its
state lives in the backend — this process's memory, or a fleet's Redis — so any process can serve
any sandbox: ``find`` attaches this process to a sandbox another one made. The fleet keeps the token
index, the registry of sandboxes, the start-up sandbox and the world's anchor.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any

from ..base.clock import Clock, Tasks
from ..base.errors import NotFound, QuotaExceeded, RateLimited, Unauthorized
from ..base.ids import new_sandbox_id, run_time_ids, token_sandbox
from ..base.settings import Settings
from ..services.audit import AuditLog
from ..services.auth import ApiKey, KeyRing, bearer_token
from ..services.bundle import Lifetime, SandboxServices
from ..services.journal import Journal
from ..services.limits import RateLimiter, RequestLimits, Window
from ..services.quotas import Admission, EventBudget, Quotas
from ..services.scenarios import ScenarioBehaviour, ScenarioRuns
from ..services.signed_urls import SignedUrls
from ..services.webhooks import RetrySchedule, Transport, WebhookService
from ..services.webhooks.feed import EventFeed, StreamSlots
from ..services.webhooks.listeners import listener_secret
from ..services.webhooks.recorder import EmittedEvents
from .backends import SIGNING_KEY, Backend
from .worlds import SeededWorlds, world_anchor

TOKEN_CACHE = 100_000  # tokens whose sandbox this process remembers
SWEEP_SECONDS = 30.0  # how often expired sandboxes are looked for (a request to one finds it at once)
TaskHandlers = Callable[[SandboxServices], dict[str, Callable[[dict[str, Any]], object]]]


class SandboxDirectory:
    """The sandboxes this process serves, which one a key belongs to, and their lifetimes."""

    def __init__(self, settings: Settings, backend: Backend, task_handlers: TaskHandlers) -> None:
        self.settings, self.backend, self._task_handlers = settings, backend, task_handlers
        self.fleet = backend.fleet()
        self.fleet.put_new("anchor", world_anchor(settings).timestamp())
        self.anchor = datetime.fromtimestamp(float(self.fleet.get("anchor")), world_anchor(settings).tzinfo)
        self.worlds = SeededWorlds(settings.MAX_SEEDED_WORLDS)
        self.ticker = backend.ticker()
        self.transport = Transport(
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_private=settings.ALLOW_PRIVATE_WEBHOOKS,
            workers=settings.WEBHOOK_WORKERS,
            per_endpoint=settings.WEBHOOK_ENDPOINT_IN_FLIGHT,
        )
        self.streams = StreamSlots(settings.STREAMS_MAX)  # this process's listeners' streams
        wall = Clock.make()  # abuse limits run on real time, whatever a sandbox's clock does (counted in the fleet)
        self._creations = RateLimiter(
            self.fleet, wall, Window(settings.SANDBOX_CREATIONS_PER_MINUTE, 60), name="creations"
        )
        self._keyless = RateLimiter(self.fleet, wall, Window(settings.KEYLESS_REQUESTS_PER_MINUTE, 60), name="keyless")
        self._lock = threading.RLock()
        self._attached: dict[str, SandboxServices] = {}
        self._token_sandboxes: dict[str, str] = {}
        self._sweeper = Clock.make(dispatch=lambda name, payload: self._sweep_and_reschedule(), ticker=self.ticker)
        self._sweeper.call_at(self._sweeper.now() + timedelta(seconds=SWEEP_SECONDS), "sweep")
        # The sandbox made at start-up never expires; locally it keeps the seed's tokens (`eal-sandbox keys`),
        # hosted it gets random ones like any other (the seed's are public). A fleet shares one.
        with self.fleet.lock("default-sandbox"):
            made = self.fleet.get("default-sandbox")
            default = None if made is None else self.find(str(made))
            if default is None:
                default = self.create(seeded_tokens=not settings.HOSTED, ttl=None)
                self.fleet.put("default-sandbox", default.id)
        self.default = default
        backend.start(self.find, self.transport.workers)

    # TokenIndex ----------------------------------------------------------------------------------

    def claim(self, token: str, sandbox_id: str) -> None:
        self.fleet.hput("tokens", token, sandbox_id)

    def release(self, token: str) -> None:
        self.fleet.hremove("tokens", token)

    # Sandboxes -----------------------------------------------------------------------------------

    def create(
        self,
        *,
        seed: int | None = None,
        leads_per_org: int | None = None,
        ttl: timedelta | None = None,
        seeded_tokens: bool = False,
        client_address: str | None = None,
    ) -> SandboxServices:
        """A new sandbox of ``seed`` (the server's by default), ready to serve; minting is limited per
        ``client_address``, and a full directory evicts its longest-idle sandbox first."""
        if client_address is not None:
            self._limit(self._creations, client_address, "sandbox creations per minute from one address")
        if len(self) >= self.settings.MAX_SANDBOXES:
            self._evict_longest_idle()
        settings = dataclasses.replace(
            self.settings,
            SEED=self.settings.SEED if seed is None else seed,
            LEADS_PER_ORG=leads_per_org or self.settings.LEADS_PER_ORG,
        )
        sandbox_id = new_sandbox_id()
        with self.backend.sandbox_state(sandbox_id).fresh():  # a new id: its state is written in one go
            sandbox = self._attach(sandbox_id, settings, world_tokens=seeded_tokens)
            sandbox.clock.establish(settings.CLOCK_START, frozen=settings.CLOCK_FROZEN)
            sandbox.lifetime.establish(ttl)
            sandbox.keys.establish(world_tokens=seeded_tokens)
        self.fleet.hput("sandboxes", sandbox.id, {"seed": settings.SEED, "leads_per_org": settings.LEADS_PER_ORG})
        return sandbox

    def _attach(self, sandbox_id: str, settings: Settings, world_tokens: bool | None = None) -> SandboxServices:
        """This process's services for a sandbox: a new one (``world_tokens`` says whose tokens its seeded
        keys get), or one the fleet already holds."""
        world = self.worlds.acquire(settings.SEED, settings.LEADS_PER_ORG, self.anchor)
        state, tasks = self.backend.sandbox_state(sandbox_id), Tasks()
        state.put_new(SIGNING_KEY, secrets.token_hex(32))
        secret = bytes.fromhex(str(state.get(SIGNING_KEY)))
        keys = KeyRing(state, world.info.keys, secret, sandbox_id=sandbox_id, index=self)
        clock = Clock(state, dispatch=tasks.run, ticker=self.ticker, name=sandbox_id)
        store = self.backend.store(sandbox_id, world.base)
        ids = run_time_ids(settings.SEED, settings.REPRODUCIBLE_IDS)
        emitted, budget = EmittedEvents(), EventBudget(state, settings.QUOTA_EVENTS_PER_MINUTE, store)
        # The listeners' secret comes from the network admin's token: the same for the sandbox's life
        # (and, for the local start-up sandbox, whose tokens are the world's, across restarts).
        if world_tokens is None:
            world_tokens = state.get("key-tokens") == "world"
        feed = EventFeed(
            self.streams,
            state,
            secret=listener_secret(keys.token_at(0, world_tokens)),
            backlog=settings.STREAM_BACKLOG,
            attempts=settings.INSPECTOR_ATTEMPTS,
            per_sandbox=settings.STREAMS_PER_SANDBOX,
            after_commit=store.after_commit,
            log_on_commit=store.log_on_commit,
        )
        retries = RetrySchedule(base_seconds=settings.WEBHOOK_RETRY_BASE, max_attempts=settings.WEBHOOK_MAX_ATTEMPTS)
        webhooks = WebhookService(
            store,
            clock,
            ids,
            state,
            tasks,
            transport=self.transport,
            queue=self.backend.queue(sandbox_id),
            owner=sandbox_id,
            observers=(emitted.observe, budget.observe, feed.observe),
            schedule=retries,
            max_previous_secrets=settings.QUOTA_ROTATIONS_IN_OVERLAP,
            tap=feed,
        )
        behaviour = ScenarioBehaviour(state, settings.SEED, max_latency_ms=settings.QUOTA_LATENCY_MS)
        limits = RequestLimits(
            state,
            clock,
            Window(settings.RATE_LIMIT, settings.RATE_LIMIT_WINDOW),
            behaviour.window_for,
            sandbox_id=sandbox_id,
        )
        sandbox = SandboxServices(
            id=sandbox_id,
            settings=settings,
            state=state,
            tasks=tasks,
            lifetime=Lifetime(state),
            clock=clock,
            store=store,
            ids=ids,
            world=world.info,
            keys=keys,
            limits=limits,
            webhooks=webhooks,
            emitted=emitted,
            audit=AuditLog(store, clock, ids, webhooks.emit),
            journal=Journal(state, max_bytes=settings.QUOTA_JOURNAL_BYTES),
            signed_urls=SignedUrls(clock, sandbox_id, secret),
            behaviour=behaviour,
            runs=ScenarioRuns(state, clock, behaviour, limits),
            quotas=Quotas(settings, store, budget),
            admission=Admission(state, settings.QUOTA_CONCURRENT_REQUESTS),
            feed=feed,
            _ids_state=ids.state(),
        )
        for name, handler in self._task_handlers(sandbox).items():
            tasks.register(name, handler)
        with self._lock:
            self._attached[sandbox_id] = sandbox
        return sandbox

    def _lifetimes(self) -> dict[str, Lifetime]:
        """Every registered sandbox's lifetime, read without attaching the sandbox to this process."""
        return {
            sandbox_id: Lifetime(self.backend.sandbox_state(sandbox_id)) for sandbox_id in self.fleet.hall("sandboxes")
        }

    def _evict_longest_idle(self) -> None:
        candidates = [
            (lifetime.last_used, sandbox_id)
            for sandbox_id, lifetime in self._lifetimes().items()
            if lifetime.ttl is not None
        ]
        evicted = None if not candidates else self.find(min(candidates)[1])
        if evicted is not None:
            self.delete(evicted)

    @staticmethod
    def _limit(limiter: RateLimiter, address: str, what: str) -> None:
        try:
            limiter.hit(address)
        except RateLimited as limited:  # said as the quota it is
            wait = int(limited.headers.get("Retry-After", "60"))
            raise QuotaExceeded(
                what.replace(" ", "_"),
                limiter.window.limit,
                f"at most {limiter.window.limit} {what}; wait {wait} s",
                retry_after=wait,
                details={"client_address": address},
            ) from None

    def limit_anonymous(self, client_address: str) -> None:
        """Count one request without a key from ``client_address`` (429 ``quota_exceeded`` past the limit)."""
        self._limit(self._keyless, client_address, "requests without a key per minute from one address")

    def find(self, sandbox_id: str) -> SandboxServices | None:
        """The live sandbox of that id (attached to this process on first use), or None."""
        with self._lock:
            sandbox = self._attached.get(sandbox_id)
        if sandbox is None:
            registered = self.fleet.hget("sandboxes", sandbox_id)
            if registered is None:  # deleted (by any process) or never made
                return None
            sandbox = self._attach(
                sandbox_id,
                dataclasses.replace(self.settings, SEED=registered["seed"], LEADS_PER_ORG=registered["leads_per_org"]),
            )
        elif self.backend.shared and not sandbox.lifetime.exists:  # another process deleted it
            self._detach(sandbox)
            return None
        if sandbox.lifetime.expired():
            self.delete(sandbox)
            return None
        return sandbox

    def _detach(self, sandbox: SandboxServices) -> None:
        with self._lock:
            if self._attached.pop(sandbox.id, None) is None:
                return
        sandbox.close()
        self.worlds.release(sandbox.settings.SEED, sandbox.settings.LEADS_PER_ORG, self.anchor)

    def delete(self, sandbox: SandboxServices) -> None:
        """Forget a sandbox everywhere: its keys stop working at once, its timers and deliveries go."""
        self.fleet.hremove("sandboxes", sandbox.id)
        sandbox.state.remove(SIGNING_KEY)  # first: from here on a write racing the deletion is refused
        sandbox.destroy()
        self._detach(sandbox)
        self.backend.forget(sandbox.id)

    def __len__(self) -> int:
        return self.fleet.hlength("sandboxes")

    def sweep(self, now: float | None = None) -> int:
        """Delete every expired sandbox; returns how many. Only the expired ones are attached (to be
        deleted): a fleet's other sandboxes cost this process nothing."""
        expired = [sandbox_id for sandbox_id, lifetime in self._lifetimes().items() if lifetime.expired(now)]
        for sandbox_id in expired:
            with self._lock:
                sandbox = self._attached.get(sandbox_id)
            if sandbox is None and (registered := self.fleet.hget("sandboxes", sandbox_id)) is not None:
                sandbox = self._attach(
                    sandbox_id,
                    dataclasses.replace(
                        self.settings, SEED=registered["seed"], LEADS_PER_ORG=registered["leads_per_org"]
                    ),
                )
            if sandbox is not None:
                self.delete(sandbox)
        return len(expired)

    def _sweep_and_reschedule(self) -> None:
        try:  # in a fleet, one process sweeps each period
            if self.fleet.incr(f"sweep:{int(time.time() // SWEEP_SECONDS)}", ttl=2 * SWEEP_SECONDS) == 1:
                self.sweep()
        finally:
            self._sweeper.call_at(self._sweeper.now() + timedelta(seconds=SWEEP_SECONDS), "sweep")

    # The pipeline's Sandboxes ---------------------------------------------------------------------

    def authenticate(self, authorization: str | None, scope: ExitStack | None = None) -> tuple[SandboxServices, ApiKey]:
        """The sandbox and key of a Bearer token. With a ``scope`` (the request's), what the request reads
        of the sandbox every time is prefetched for as long as the scope lasts: one round trip in a fleet."""
        token = bearer_token(authorization)
        sandbox_id = token_sandbox(token) or self._token_sandboxes.get(token)
        if sandbox_id is None:
            sandbox_id = self.fleet.hget("tokens", token)
            if sandbox_id is not None:  # a token names one sandbox for good (revoking it is the key ring's)
                if len(self._token_sandboxes) >= TOKEN_CACHE:
                    self._token_sandboxes.clear()
                self._token_sandboxes[token] = sandbox_id
        sandbox = None if sandbox_id is None else self._attached_or_find(sandbox_id)
        key = None
        if sandbox is not None:
            with ExitStack() as own:
                remote = sandbox.state.remote  # in memory only the lifetime is worth reading here
                got = (scope or own).enter_context(
                    sandbox.state.prefetched(
                        sandbox.request_reads(token) if remote else Lifetime.READS,
                        [("put", "last-used", time.time())],
                        sandbox.request_spends(token) if remote else (),
                    )
                )
                if got[("get", "lifetime")] is None:  # deleted, by this process or another
                    self._detach(sandbox)
                    sandbox = None
                elif sandbox.lifetime.expired(last_used=float(got[("get", "last-used")] or 0.0)):
                    self.delete(sandbox)
                    sandbox = None
                else:
                    key = sandbox.keys.find(token)
        if sandbox is None or key is None:
            raise Unauthorized(
                "Unknown API key: it is not a key of any live sandbox here (a deleted or "
                "expired sandbox's keys stop working)"
            )
        return sandbox, key

    def _attached_or_find(self, sandbox_id: str) -> SandboxServices | None:
        with self._lock:
            sandbox = self._attached.get(sandbox_id)
        return sandbox if sandbox is not None else self.find(sandbox_id)

    def anonymous(self, sandbox_id: str | None = None, scope: ExitStack | None = None) -> SandboxServices:
        """The sandbox a request without a key acts in: the one it names, else the start-up one (with a
        ``scope``, its clock and scenarios are prefetched for the request)."""
        sandbox = self.default if sandbox_id is None else self.find(sandbox_id)
        if sandbox is None:
            raise NotFound(f"No live sandbox '{sandbox_id}' (deleted or expired)", details={"sandbox": sandbox_id})
        if scope is not None:
            scope.enter_context(sandbox.state.prefetched(sandbox.anonymous_reads()))
        return sandbox

    def close(self) -> None:
        """This process lets go of every sandbox (a memory backend's are gone with it)."""
        self.streams.close()
        with self._lock:
            attached = list(self._attached.values())
            self._attached.clear()
        for sandbox in attached:
            sandbox.close()
        self._sweeper.stop()
        self.transport.close()
        self.backend.close()
