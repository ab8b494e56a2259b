"""Started scenarios, per organization: what is in force and how far each timeline got.

This is the state; ``sandbox.operations.scenario_runner`` plays the timelines (their steps call API
handlers, which is orchestration). Starting replaces what ran for the organization; stopping takes
the behaviour out of force, drops the scenario's rate-limit counters and cancels a waiting timeline.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...base.clock import Clock, isoformat
from ..limits import RequestLimits
from .behaviour import ScenarioBehaviour
from .loader import Scenario


@dataclass
class Run:
    """One started scenario and what its timeline has done so far."""

    scenario: Scenario
    org_id: str | None  # None: every organization
    timeline_org: str
    started_at: datetime
    state: str = "running"  # running | waiting | done | stopped
    next_step: int = 0
    resumes_at: datetime | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    emitted: list[str] = field(default_factory=list)  # event ids, in emit order
    lock: threading.RLock = field(default_factory=threading.RLock)
    task: Any = None  # the clock task a waiting timeline resumes with

    def view(self) -> dict[str, Any]:
        scenario, limit = self.scenario, self.scenario.rate_limit
        return {
            "name": scenario.name,
            "description": scenario.description,
            "organization_id": self.org_id,
            "scope": "instance" if self.org_id is None else "organization",
            "started_at": isoformat(self.started_at),
            "state": self.state,
            "behaviour": {
                "rate_limit": None if limit is None else {"limit": limit.limit, "window_seconds": limit.window},
                "latency_rules": len(scenario.latency),
                "fault_rules": len(scenario.faults),
            },
            "timeline": {
                "steps_total": len(scenario.timeline),
                "steps_done": self.next_step,
                "resumes_at": None if self.resumes_at is None else isoformat(self.resumes_at),
                "steps": list(self.log),
            },
        }


class ScenarioRuns:
    """The runs of one sandbox, keyed by organization (None: every organization)."""

    def __init__(self, clock: Clock, behaviour: ScenarioBehaviour, limits: RequestLimits) -> None:
        self.clock, self.behaviour, self.limits = clock, behaviour, limits
        self._lock = threading.Lock()
        self._runs: dict[str | None, Run] = {}

    def begin(self, scenario: Scenario, org_id: str | None, timeline_org: str) -> Run:
        """Stop whatever runs for ``org_id`` and put ``scenario`` in force; its timeline is not played."""
        self.stop(org_id)
        run = Run(scenario, org_id, timeline_org, self.clock.now())
        with self._lock:
            self._runs[org_id] = run
        self.behaviour.apply(org_id, scenario)
        return run

    def stop(self, org_id: str | None) -> Run | None:
        """Take the scenario of ``org_id`` out of force and cancel the rest of its timeline."""
        with self._lock:
            run = self._runs.pop(org_id, None)
        self.behaviour.remove(org_id)
        self.limits.forget(org_id)
        if run is not None:
            with run.lock:
                if run.task is not None:
                    run.task.cancel()
                run.state, run.resumes_at = "stopped", None
        return run

    def stop_all(self) -> None:
        """Stop every run (a whole-sandbox reset)."""
        with self._lock:
            org_ids = list(self._runs)
        for org_id in org_ids:
            self.stop(org_id)

    def status(self, org_id: str | None) -> Run | None:
        """The run in force for ``org_id``: its own, else the instance-wide one."""
        with self._lock:
            return self._runs.get(org_id) or self._runs.get(None)
