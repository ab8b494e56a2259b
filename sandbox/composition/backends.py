"""Where sandboxes keep their state: the process's memory (the embedded default) or a fleet's Redis.

A ``Backend`` gives each sandbox its ``State``, its record store and where its delivery work waits,
and gives the fleet's own keys (the token index, the registry of sandboxes) a ``State`` of their
own; it fires the sandboxes' clock tasks in real time (its ``ticker``) and, once ``start``ed, runs
the delivery work waiting for this process. ``MemoryBackend`` keeps everything in this process;
``sandbox.composition.fleet`` has Redis's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from ..base.clock import Ticker, Watcher
from ..base.memory_state import MemoryState
from ..base.overlay import OverlayStore, SandboxStore, SeededBase
from ..base.state import State
from ..services.bundle import SandboxServices
from ..services.webhooks.queue import QueueFactory
from ..services.webhooks.workers import DeliveryWorkers

# A sandbox's state name written first when it is made and removed first when it is deleted (its
# webhook signing key): on a fleet, its absence tells a commit that the sandbox is gone.
SIGNING_KEY = "signing-key"

Find = Callable[[str], SandboxServices | None]  # the live sandbox of an id, attached to this process


class Backend(Protocol):
    name: str
    shared: bool  # whether other processes see the same sandboxes

    def fleet(self) -> State: ...

    def sandbox_state(self, sandbox_id: str) -> State: ...

    def store(self, sandbox_id: str, base: SeededBase) -> SandboxStore: ...

    def queue(self, sandbox_id: str) -> QueueFactory | None:
        """Where the sandbox's delivery jobs wait (None: this process's delivery workers)."""
        ...

    def ticker(self) -> Watcher: ...

    def start(self, find: Find, workers: DeliveryWorkers) -> None:
        """Begin running the work waiting for this process: due clock tasks, queued deliveries."""
        ...

    def forget(self, sandbox_id: str) -> None:
        """The sandbox is deleted: drop what the backend keeps for it."""
        ...

    def close(self) -> None: ...


class MemoryBackend:
    """Every sandbox in this process's memory."""

    name, shared = "memory", False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fleet = MemoryState()
        self._states: dict[str, MemoryState] = {}
        self._ticker = Ticker()

    def fleet(self) -> State:
        return self._fleet

    def sandbox_state(self, sandbox_id: str) -> State:
        with self._lock:
            state = self._states.get(sandbox_id)
            if state is None:
                state = self._states[sandbox_id] = MemoryState()
        return state

    def forget(self, sandbox_id: str) -> None:
        with self._lock:
            self._states.pop(sandbox_id, None)

    def store(self, sandbox_id: str, base: SeededBase) -> SandboxStore:
        return OverlayStore(base)

    def queue(self, sandbox_id: str) -> QueueFactory | None:
        return None

    def ticker(self) -> Watcher:
        return self._ticker

    def start(self, find: Find, workers: DeliveryWorkers) -> None:
        """Nothing waits elsewhere: the clocks are watched by this process's ``Ticker``, deliveries go
        straight to its workers."""

    def close(self) -> None:
        self._ticker.stop()
