"""Fleet mode: every sandbox's state in Redis, so any number of processes, on any number of hosts,
serve the same sandboxes, and a restart loses nothing (``STORE=redis://HOST:PORT/DB``).

What lives where (every key of a sandbox under ``sbx:{<id>}:``, one Redis Cluster hash slot; the
fleet's own under ``fleet:{fleet}:``):

- records: ``base/redis_store.py`` (only what a sandbox changed; each process rebuilds the seeded
  base from the seed);
- keys, lifetime, clock and its tasks, journal, limits, quotas, scenario runs, delivery bookkeeping, the
  listeners' feed (``services/webhooks/feed.py``): ``base/redis_state.py`` under the same prefix;
- delivery jobs: a stream per sandbox (``sbx:{<id>}:jobs``, consumer group ``delivery``), with the
  sandbox's in-flight counts changed in the same script as the stream, so a job is counted exactly
  while it waits or runs. A process reads jobs into its own delivery workers (fairness between
  sandboxes and the per-endpoint cap apply there), renews its claim on them while it holds them, and
  acknowledges each when it has run; a job whose holder died (its claim not renewed for
  ``reclaim_seconds``) is taken over by another process (``XAUTOCLAIM``): delivery is at least once,
  with the same event id;
- ``fleet:{fleet}:queues``: the sandboxes that may have jobs waiting (a sorted set by last put);
- ``fleet:{fleet}:timers``: per sandbox, the wall-clock instant its clock's next task falls due.
  Every process polls it and fires the due ones; taking a task off a clock is atomic, so each task
  runs once across the fleet.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import redis
from redis.cluster import RedisCluster

from ..base.overlay import SandboxStore, SeededBase
from ..base.redis_pool import ThreadConnectionPool
from ..base.redis_scripts import STORE_VERSION, preload
from ..base.redis_state import RedisState, sandbox_prefix
from ..base.redis_store import RedisOverlayStore
from ..base.redis_transactions import RedisTransactions
from ..base.settings import Settings
from ..base.state import State
from ..base.store import Store
from ..services.webhooks.inflight import InFlight
from ..services.webhooks.queue import DeliveryQueue, Job, QueueFactory
from ..services.webhooks.workers import DeliveryWorkers
from .backends import SIGNING_KEY, Find
from .fleet_timers import FLEET_PREFIX, OUTAGE_RETRY, FleetTicker

logger = logging.getLogger("sandbox.fleet")
GROUP = "delivery"
READ_CACHE_SECONDS = 1.0  # how long into a request its records may come from what was read before
IDLE_POLL = (0.002, 0.05)  # how soon it looks for delivery jobs again after finding none: doubling, up to


_PUT = """
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[3], '0', 'MKSTREAM')
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return redis.call('XADD', KEYS[1], '*', 'job', ARGV[1])
"""
_ACK = """
if redis.call('XACK', KEYS[1], ARGV[3], ARGV[1]) == 1 then
  redis.call('XDEL', KEYS[1], ARGV[1])
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
  return 1
end
return 0
"""
_FORGET_IF_STILL = """
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if current and tonumber(current) == tonumber(ARGV[2]) then
  if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
  return 1
end
return 0
"""


MAX_CONNECTIONS = 1000  # per process; Redis's own default limit is 10,000 clients


def connect(url: str, timeout: float = Settings.STORE_TIMEOUT) -> Any:
    """A client for ``redis://`` / ``rediss://`` (one server) or ``redis-cluster://host:port`` (a Redis
    Cluster, found from that node). A command (or a connection) that takes more than ``timeout``
    seconds raises ``redis.TimeoutError``: a Redis that stops answering (stalled, or its host gone
    without a reset) makes requests answer 503, not hang. The fleet sends no blocking commands."""
    timeouts = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if url.startswith("redis-cluster://"):
        from_url: Any = RedisCluster.from_url  # typed from redis-py 8 on (pyproject pins 8.x), untyped before
        return from_url("redis://" + url.removeprefix("redis-cluster://"), **timeouts)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"STORE must be 'memory', redis://HOST:PORT/DB or redis-cluster://HOST:PORT, not {url!r}")
    # from_pool: the client owns its pool, so closing the client closes the pool's connections.
    # A connection per thread that uses Redis (not per command in flight), so more than redis-py's 100.
    pool = ThreadConnectionPool.from_url(url, health_check_interval=30, max_connections=MAX_CONNECTIONS, **timeouts)
    return redis.Redis.from_pool(pool)


class RedisBackend:
    """Sandboxes in Redis: their state, records, delivery jobs and timers, shared by every process."""

    name, shared = "redis", True

    def __init__(
        self, url: str, *, reclaim_seconds: float = 30.0, timeout: float = Settings.STORE_TIMEOUT, client: Any = None
    ) -> None:
        self.url = url
        self.client = client if client is not None else connect(url, timeout)
        self.client.ping()  # a wrong address fails here, at start-up, not at the first request
        self._fleet = RedisState(self.client, FLEET_PREFIX)
        self._lock = threading.Lock()
        self._states: dict[str, RedisState] = {}
        self._put = self.client.register_script(_PUT)
        self._ack = self.client.register_script(_ACK)
        self._forget_if_still = self.client.register_script(_FORGET_IF_STILL)
        # Loaded up front: each script's first call in a process would otherwise cost two more trips.
        preload(self.client, _PUT, _ACK, _FORGET_IF_STILL)
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.reclaim_seconds = reclaim_seconds
        self.timers = FleetTicker(self.client, self.forget_if_still)
        self.jobs: JobConsumer | None = None

    # Backend --------------------------------------------------------------------------------------

    def fleet(self) -> State:
        return self._fleet

    def sandbox_state(self, sandbox_id: str) -> RedisState:
        with self._lock:
            state = self._states.get(sandbox_id)
            if state is None:
                state = self._states[sandbox_id] = RedisState(self.client, sandbox_prefix(sandbox_id))
        return state

    def store(self, sandbox_id: str, base: SeededBase) -> SandboxStore:
        # Every request's prefetch reads the records' version, so the store may answer reads from what
        # this process read under the same version (``RedisTransactions``) — for the request's first
        # ``READ_CACHE_SECONDS`` (a loaded process takes tens of ms per request): one that waits longer
        # (a latency scenario, a settle whose receivers call back through other processes) reads what is
        # there when it reads; a write through this process retires what it kept at once.
        state, version = self.sandbox_state(sandbox_id), ("get", STORE_VERSION)
        if version not in state.always_prefetched:
            state.always_prefetched.append(version)
        return RedisOverlayStore(
            self.client,
            sandbox_id,
            base,
            version=lambda: state.remembered(version, within=READ_CACHE_SECONDS),
            # written first when a sandbox is made (``SandboxDirectory._attach``), gone once it is deleted:
            # a write racing the deletion (through any process) is refused, never left behind in Redis
            alive=SIGNING_KEY,
        )

    def queue(self, sandbox_id: str) -> QueueFactory:
        def make(owner: str, in_flight: InFlight, run: Callable[[Job], None]) -> DeliveryQueue:
            return StreamQueue(self, sandbox_id)

        return make

    def ticker(self) -> FleetTicker:
        return self.timers

    def start(self, find: Find, workers: DeliveryWorkers) -> None:
        self.timers.start(find)
        self.jobs = JobConsumer(self, find, workers)

    def forget(self, sandbox_id: str) -> None:
        with self._lock:
            self._states.pop(sandbox_id, None)
        self._fleet.zremove("queues", sandbox_id)
        self._fleet.zremove("timers", sandbox_id)

    def close(self) -> None:
        if self.jobs is not None:
            self.jobs.stop()
        self.timers.stop()
        self.client.close()

    # The job streams ------------------------------------------------------------------------------

    def stream(self, sandbox_id: str) -> str:
        return sandbox_prefix(sandbox_id) + "jobs"

    def in_flight_key(self, sandbox_id: str) -> str:
        return sandbox_prefix(sandbox_id) + "in-flight"  # the hash services/webhooks/inflight.py counts in

    def put(self, sandbox_id: str, job: Job) -> None:
        # Announced before it is added: a process that dies in between leaves an empty announcement,
        # never a job nobody looks for.
        self.announce(sandbox_id)
        self._put(
            keys=[self.stream(sandbox_id), self.in_flight_key(sandbox_id)],
            args=[orjson.dumps(job), job["org_id"], GROUP],
        )

    def announce(self, sandbox_id: str) -> None:
        """Tell the fleet's consumers the sandbox has jobs waiting."""
        self.client.zadd(self._fleet.key("queues"), {sandbox_id: time.time()})

    def ack(self, sandbox_id: str, entry_id: bytes, org_id: str) -> None:
        self._ack(keys=[self.stream(sandbox_id), self.in_flight_key(sandbox_id)], args=[entry_id, org_id, GROUP])

    def forget_if_still(self, name: str, member: str, score: float, new_score: float | None) -> None:
        """Drop (or move to ``new_score``) ``member`` of the fleet's sorted set ``name`` unless another
        process changed its score since it was read as ``score``."""
        self._forget_if_still(
            keys=[self._fleet.key(name)], args=[member, repr(score), "" if new_score is None else repr(new_score)]
        )


class StreamQueue:
    """A sandbox's delivery jobs, waiting in its stream for any process of the fleet."""

    def __init__(self, backend: RedisBackend, sandbox_id: str) -> None:
        self.backend, self.sandbox_id = backend, sandbox_id

    def put(self, job: Job, endpoint: str | None = None) -> bool:
        self.backend.put(self.sandbox_id, {**job, "_endpoint": endpoint})
        return True

    def put_on_commit(self, store: Store, job: Job, endpoint: str | None = None) -> None:
        """In the commit's own Lua step, where the store is the sandbox's in Redis: a process killed
        between storing an event and queueing its delivery cannot exist."""
        if isinstance(store, RedisTransactions):
            sandbox_id, payload = self.sandbox_id, orjson.dumps({**job, "_endpoint": endpoint})
            self.backend.announce(sandbox_id)  # before: an empty announcement is harmless, a lost job is not
            if store.stage(
                [
                    ("XADD", self.backend.stream(sandbox_id), GROUP, "job", payload),
                    ("COUNT", self.backend.in_flight_key(sandbox_id), job["org_id"], 1),
                ]
            ):
                return
        store.after_commit(lambda: self.put(job, endpoint))

    def drop(self) -> None:
        """This process lets go of the sandbox: the jobs it holds go back to the fleet when their claim
        lapses (a deleted sandbox's stream goes with its state)."""
        if self.backend.jobs is not None:
            self.backend.jobs.release(self.sandbox_id)


class JobConsumer:
    """Reads the fleet's delivery jobs into this process's workers, keeps its claims alive, acks them."""

    def __init__(self, backend: RedisBackend, find: Find, workers: DeliveryWorkers) -> None:
        self.backend, self.find, self.workers = backend, find, workers
        self.prefetch = 2 * workers.threads
        self._lock = threading.Lock()
        self._held: dict[str, set[bytes]] = {}  # sandbox id -> entries read and not yet acked
        self._stopped = threading.Event()
        self._last_renewal = 0.0
        self._thread = threading.Thread(target=self._run, name="fleet-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)

    def release(self, sandbox_id: str) -> None:
        """Let go of the sandbox's jobs held here (not acked: their claims lapse to other processes)."""
        with self._lock:
            self._held.pop(sandbox_id, None)
        self.workers.drop(sandbox_id)

    def _run(self) -> None:
        wait, failing = IDLE_POLL[0], False
        while not self._stopped.is_set():
            try:
                took = self._round()
                failing = False
            except redis.RedisError as error:  # Redis unreachable: say so once, retry every second
                if not failing:
                    logger.warning("reading delivery jobs failed (%s); retrying every %s s", error, OUTAGE_RETRY)
                failing, took = True, 0
            wait = OUTAGE_RETRY if failing else IDLE_POLL[0] if took else min(wait * 2, IDLE_POLL[1])
            if not took:
                self._stopped.wait(wait)

    def _round(self) -> int:
        now = time.time()
        renew = now - self._last_renewal >= self.backend.reclaim_seconds / 3
        room = self.prefetch - self.workers.load()
        if room <= 0 and not renew:
            return 0
        fleet = self.backend.fleet()
        waiting = fleet.zall("queues")
        took = 0
        if room > 0 and waiting:
            took = self._read(waiting, room)
        if renew:
            self._last_renewal = now
            self._renew()
            took += self._reclaim([sandbox_id for sandbox_id, _ in waiting])
        return took

    def _read(self, waiting: list[tuple[str, float]], room: int) -> int:
        pipe = self.backend.client.pipeline(transaction=False)
        for sandbox_id, _ in waiting:
            pipe.xreadgroup(GROUP, self.backend.consumer, {self.backend.stream(sandbox_id): ">"}, count=room)
            pipe.xlen(self.backend.stream(sandbox_id))
        replies = pipe.execute(raise_on_error=False)
        took = 0
        for index, (sandbox_id, score) in enumerate(waiting):
            read, length = replies[2 * index], replies[2 * index + 1]
            entries = [] if isinstance(read, Exception) or not read else read[0][1]
            for entry_id, fields in entries:
                self._hand_over(sandbox_id, entry_id, fields)
                took += 1
            if not entries and length == 0 and score < time.time() - 1:
                self.backend.forget_if_still("queues", sandbox_id, score, None)  # drained
        return took

    def _hand_over(self, sandbox_id: str, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        job = orjson.loads(fields[b"job"])
        endpoint = job.pop("_endpoint", None)
        with self._lock:
            self._held.setdefault(sandbox_id, set()).add(entry_id)
        if not self.workers.submit(sandbox_id, lambda: self._execute(sandbox_id, entry_id, job), endpoint):
            with self._lock:  # shutting down: the claim lapses and another process takes it
                self._held.get(sandbox_id, set()).discard(entry_id)

    def _execute(self, sandbox_id: str, entry_id: bytes, job: Job) -> None:
        try:
            sandbox = self.find(sandbox_id)
            if sandbox is not None:
                sandbox.webhooks.run_job(job)
        finally:
            with self._lock:
                held = self._held.get(sandbox_id)
                still_ours = held is not None and entry_id in held
                if held is not None:
                    held.discard(entry_id)
            if still_ours:
                self.backend.ack(sandbox_id, entry_id, job["org_id"])

    def _renew(self) -> None:
        """Reset the idle time of every job this process holds, so nobody takes them over."""
        with self._lock:
            held = {sandbox_id: list(entries) for sandbox_id, entries in self._held.items() if entries}
        if not held:
            return
        pipe = self.backend.client.pipeline(transaction=False)
        for sandbox_id, entries in held.items():
            pipe.xclaim(self.backend.stream(sandbox_id), GROUP, self.backend.consumer, 0, entries, justid=True)
        pipe.execute(raise_on_error=False)

    def _reclaim(self, sandbox_ids: list[str]) -> int:
        """Take over the jobs of processes that stopped renewing their claims (they died)."""
        room = self.prefetch - self.workers.load()
        took = 0
        idle_ms = int(self.backend.reclaim_seconds * 1000)
        for sandbox_id in sandbox_ids:
            if room - took <= 0:
                break
            try:
                reply = self.backend.client.xautoclaim(
                    self.backend.stream(sandbox_id), GROUP, self.backend.consumer, idle_ms, "0-0", count=room - took
                )
            except redis.ResponseError:  # no such stream or group any more
                continue
            for entry_id, fields in reply[1]:
                if fields:
                    logger.info("taking over delivery job %s of sandbox %s", entry_id, sandbox_id)
                    self._hand_over(sandbox_id, entry_id, fields)
                    took += 1
        return took
