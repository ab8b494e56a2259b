"""A sandbox's transaction lock in Redis: ``SET key token NX PX ttl`` with a random token, released by a
compare-and-delete script, extended while held by a process-wide renewer thread, and gone by itself
``ttl`` after a holder that crashed stopped renewing it.

A commit checks the token in the same script that writes (see ``redis_scripts.APPLY``), so a holder
that lost its lock (it stalled past the ttl and another process took it) writes nothing: its commit
raises ``LockLost``.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_EXTEND = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"


class LockLost(RuntimeError):
    """The transaction's lock expired before its commit (nothing of it was written)."""


class LockTimeout(TimeoutError):
    """Another holder kept the sandbox's lock longer than the wait allowed."""


def new_token() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class LockSettings:
    ttl_ms: int = 10_000  # a crashed holder's lock is free again at most this long after its last renewal
    wait_s: float = 30.0  # how long a transaction waits for the lock before LockTimeout

    def __post_init__(self) -> None:
        if self.ttl_ms < 30 or self.wait_s <= 0:
            raise ValueError("the lock's ttl is at least 30 ms and its wait positive")


def wait_for(attempt: Callable[[], T | None], settings: LockSettings, what: str) -> T:
    """Call ``attempt`` until it returns something other than None (the lock was free), backing off from
    1 ms to 25 ms with jitter; LockTimeout after ``settings.wait_s``."""
    deadline = time.monotonic() + settings.wait_s
    delay = 0.001
    while True:
        result = attempt()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise LockTimeout(f"{what}: another holder kept the lock for more than {settings.wait_s:g} s")
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.025)


@dataclass(eq=False)
class Held:
    """One held lock, as the renewer sees it."""

    client: Any
    key: str
    token: str
    ttl_ms: int
    renewed_at: float = field(default_factory=time.monotonic)


class Renewer:
    """Extends every lock held longer than a third of its ttl (one daemon thread per process).

    The thread ticks every third of the shortest ttl it has seen, so a new lock never has to wake it
    (a wake-up per transaction would cost a thread switch on every request): a lock is renewed at
    most two thirds of its ttl after its last renewal."""

    def __init__(self) -> None:
        self._held: set[Held] = set()
        self._changed = threading.Condition()
        self._pid = 0
        self._tick: float | None = None

    def forked(self) -> None:
        """In a forked child: no thread, no locks of the parent's (its condition may have been held)."""
        self._held, self._changed, self._pid, self._tick = set(), threading.Condition(), 0, None

    def hold(self, held: Held) -> None:
        with self._changed:
            if self._pid != os.getpid():  # first use (or first in a forked child)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="redis-lock-renewer", daemon=True).start()
            self._held.add(held)
            if self._tick is None or held.ttl_ms / 3000 < self._tick:
                self._tick = held.ttl_ms / 3000
                self._changed.notify()

    def drop(self, held: Held) -> None:
        with self._changed:
            self._held.discard(held)

    def _run(self) -> None:
        pid = os.getpid()
        while True:
            with self._changed:
                self._changed.wait(self._tick)
                if self._pid != pid:
                    return
                now = time.monotonic()
                due = [h for h in self._held if now - h.renewed_at >= h.ttl_ms / 3000]
            for held in due:
                try:
                    if held.client.eval(_EXTEND, 1, held.key, held.token, held.ttl_ms):
                        held.renewed_at = time.monotonic()
                    else:  # lost (expired and taken): the commit will say so
                        self.drop(held)
                except Exception:  # Redis unreachable for now: try again at the next tick
                    pass


RENEWER = Renewer()
os.register_at_fork(after_in_child=RENEWER.forked)


def release(client: Any, held: Held) -> None:
    """Give the lock back if it is still this holder's (compare-and-delete)."""
    RENEWER.drop(held)
    client.eval(_RELEASE, 1, held.key, held.token)
