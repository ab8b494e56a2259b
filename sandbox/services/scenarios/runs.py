"""Started scenarios, per organization: what is in force and how far each timeline got.

This is the state, kept in the sandbox's ``State`` so every process of a fleet sees the same runs;
``sandbox.operations.scenario_runner`` plays the timelines (their steps call API handlers, which is
orchestration). Starting replaces what ran for the organization; stopping takes the behaviour out
of force, drops the scenario's rate-limit counters and cancels a waiting timeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ...base.clock import Clock, isoformat, parse_iso
from ...base.state import State
from ..limits import RequestLimits
from .behaviour import ScenarioBehaviour
from .loader import Scenario, restored

RESUME_TASK = "scenario.resume"


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
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def key(self) -> str:
        return "*" if self.org_id is None else self.org_id

    def stored(self) -> dict[str, Any]:
        fields = asdict(self)
        fields.update(
            scenario=self.scenario.stored(),
            started_at=isoformat(self.started_at),
            resumes_at=None if self.resumes_at is None else isoformat(self.resumes_at),
        )
        return fields

    @classmethod
    def restored(cls, stored: dict[str, Any]) -> Run:
        return cls(
            **{
                **stored,
                "scenario": restored(stored["scenario"]),
                "started_at": parse_iso(stored["started_at"]),
                "resumes_at": None if stored["resumes_at"] is None else parse_iso(stored["resumes_at"]),
            }
        )

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
    """The runs of one sandbox, keyed by organization (``*``: every organization)."""

    def __init__(self, state: State, clock: Clock, behaviour: ScenarioBehaviour, limits: RequestLimits) -> None:
        self.state, self.clock, self.behaviour, self.limits = state, clock, behaviour, limits

    @contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold one organization's run while a timeline step plays (across a fleet's processes)."""
        with self.state.lock(f"run:{key}", timeout=120):
            yield

    def begin(self, scenario: Scenario, org_id: str | None, timeline_org: str) -> Run:
        """Stop whatever runs for ``org_id`` and put ``scenario`` in force; its timeline is not played."""
        self.stop(org_id)
        run = Run(scenario, org_id, timeline_org, self.clock.now())
        self.state.hput("runs", run.key, run.stored())
        self.behaviour.apply(org_id, scenario)
        return run

    def load(self, key: str) -> Run | None:
        stored = self.state.hget("runs", key)
        return None if stored is None else Run.restored(stored)

    def save(self, run: Run) -> bool:
        """Keep what the timeline did, unless the run was stopped or replaced meanwhile."""
        current = self.state.hget("runs", run.key)
        if current is None or current["id"] != run.id:
            return False
        self.state.hput("runs", run.key, run.stored())
        return True

    def stop(self, org_id: str | None) -> Run | None:
        """Take the scenario of ``org_id`` out of force and cancel the rest of its timeline."""
        key = "*" if org_id is None else org_id
        run = self.load(key)
        self.state.hremove("runs", key)
        self.behaviour.remove(org_id)
        self.limits.forget(org_id)
        self.clock.cancel(f"run:{key}")
        if run is not None:
            run.state, run.resumes_at = "stopped", None
        return run

    def stop_all(self) -> None:
        """Stop every run (a whole-sandbox reset)."""
        for key in self.state.hall("runs"):
            self.stop(None if key == "*" else key)
        self.behaviour.clear()

    def status(self, org_id: str | None) -> Run | None:
        """The run in force for ``org_id``: its own, else the instance-wide one."""
        runs = self.state.hall("runs")
        stored = runs.get("*" if org_id is None else org_id) or runs.get("*")
        return None if stored is None else Run.restored(stored)
