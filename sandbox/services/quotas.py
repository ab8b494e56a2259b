"""Quotas per sandbox: what one sandbox may take of a shared server.

Each quota is a setting (``QUOTA_…``, see ``base/settings.py`` and the README's "Hosting" table).
Over one, the answer is ``429 quota_exceeded`` naming the quota, its limit and how to free it, and
nothing is stored: writes are checked before their handler runs (``check_writes``), scenarios
before they start (``check_scenario``), the rest where the thing is made.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..base.errors import QuotaExceeded
from ..base.overlay import SandboxStore
from ..base.settings import Settings
from ..base.state import State
from ..base.store import Store
from .scenarios.loader import Scenario

# Operations that only free what a sandbox holds: never refused for being over a quota.
FREEING = frozenset({"reset_sandbox", "delete_current_sandbox", "clear_journal", "stop_scenario"})
STEP_KINDS_THAT_MAKE_RECORDS = ("trigger", "create")


class EventBudget:
    """Webhook events emitted per wall-clock minute (an observer of the webhook service)."""

    def __init__(self, state: State, per_minute: int, store: Store | None = None) -> None:
        self.state, self.per_minute, self.store = state, per_minute, store

    @staticmethod
    def name() -> str:
        """The counter of this wall-clock minute."""
        return f"events-minute:{int(time.time() // 60)}"

    def observe(self, event: Mapping[str, Any]) -> None:
        """Count the event; with the write that emitted it where the store can (one round trip fewer)."""
        name = self.name()
        if self.store is None or not self.store.count_on_commit(name, 1, 120):
            self.state.incr(name, ttl=120)

    def spent(self) -> int:
        return int(self.state.get(self.name()) or 0)


class Quotas:
    """One sandbox's quotas, checked against its store and its event budget."""

    def __init__(self, settings: Settings, store: SandboxStore, events: EventBudget) -> None:
        self.settings, self.store, self.events = settings, store, events

    def check_writes(self, operation_id: str) -> None:
        """Refuse a write while the sandbox is full of one kind of record or of events this minute."""
        if operation_id in FREEING:
            return
        fullest = self.store.fullest()
        limit = self.settings.QUOTA_RECORDS_PER_KIND
        if fullest is not None and fullest[1] >= limit:
            raise QuotaExceeded(
                f"records_per_kind:{fullest[0]}",
                limit,
                f"this sandbox holds {fullest[1]} {fullest[0]} records it added; delete some, "
                "reset the sandbox (POST /_sandbox/reset) or mint a new one",
                details={"kind": fullest[0], "records": fullest[1]},
            )
        spent = self.events.spent()
        if spent >= self.events.per_minute:
            wait = 60 - int(time.time()) % 60
            raise QuotaExceeded(
                "events_per_minute",
                self.events.per_minute,
                f"this sandbox emitted {spent} webhook events this minute; wait {wait} s",
                retry_after=wait,
                details={"events": spent},
            )

    def check_count(self, quota: str, used: int, limit: int, how_to_free: str) -> None:
        if used >= limit:
            raise QuotaExceeded(quota, limit, how_to_free, details={"used": used})

    def check_scenario(self, scenario: Scenario) -> None:
        """Refuse a scenario whose latency or timeline is more than one sandbox may have."""
        cap = self.settings.QUOTA_LATENCY_MS
        slowest = max((rule.ms + rule.jitter_ms for rule in scenario.latency), default=0)
        if slowest > cap:
            raise QuotaExceeded(
                "latency_ms",
                cap,
                f"a latency rule adds up to {slowest} ms to a request; keep ms + jitter_ms at or under {cap}",
                details={"scenario": scenario.name},
            )
        records = sum(
            int(step.options.get("count", 1)) for step in scenario.timeline if step.kind in STEP_KINDS_THAT_MAKE_RECORDS
        )
        limit = self.settings.QUOTA_SCENARIO_RECORDS
        if records > limit:
            raise QuotaExceeded(
                "scenario_records",
                limit,
                f"the timeline makes {records} stories and records "
                f"(the counts of its trigger and create steps); make at most {limit}",
                details={"scenario": scenario.name, "records": records},
            )


class Admission:
    """How many of one sandbox's requests are in progress, at most ``limit`` (0: no cap), across every
    process of a fleet; a place a crashed process held is given back after ``LEASE`` seconds."""

    LEASE = 60.0

    def __init__(self, state: State, limit: int) -> None:
        self.state, self.limit = state, limit

    def enter(self) -> str | None:
        """Take a place; the token to ``leave`` with (None when there is no cap)."""
        if not self.limit:
            return None
        token = uuid.uuid4().hex
        if not self.state.admit("admission", token, self.limit, self.LEASE):
            raise QuotaExceeded(
                "concurrent_requests",
                self.limit,
                f"this sandbox already has {self.limit} requests in progress; "
                "send fewer at once (a scenario's latency holds each one)",
                retry_after=1,
            )
        return token

    def leave(self, token: str | None) -> None:
        if token is not None:
            self.state.release("admission", token)
