"""Running scenarios: behaviour put in force per tenant, and the timeline played step by step.

A run belongs to one organization (started through the control API with that organization's
key) or to every organization (``serve --scenario``; its timeline then plays for the first
child location). Steps run in order, synchronously, in the request or command that started
the run; ``wait`` hands the rest of the timeline to the sandbox clock, so it plays when the
clock gets there (advanced, or in real time). After each step that emits events the runner
waits, at most ``SETTLE_SECONDS``, for their deliveries, so a later step (a rotation, a clock
advance) happens after them, as it would on a real timeline.
"""

from __future__ import annotations

import random
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..clock import isoformat
from ..durations import parse_duration
from .limits import TenantLimiter
from .loader import Scenario, Step

if TYPE_CHECKING:
    from ..runtime import Sandbox

SETTLE_SECONDS = 5.0
_RUNNERS: weakref.WeakKeyDictionary[Any, ScenarioRunner] = weakref.WeakKeyDictionary()
_ATTACH = threading.Lock()


def attach(sandbox: Sandbox) -> ScenarioRunner:
    """The sandbox's scenario runner, created (and the tenant limiter installed) on first use."""
    with _ATTACH:
        runner = _RUNNERS.get(sandbox)
        if runner is None:
            sandbox.behaviour.seed, sandbox.behaviour.clock = sandbox.settings.SEED, sandbox.clock
            if not isinstance(sandbox.limiter, TenantLimiter):
                sandbox.limiter = TenantLimiter(sandbox, sandbox.limiter)  # type: ignore[assignment]
            runner = _RUNNERS[sandbox] = ScenarioRunner(sandbox)
    return runner


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
    task: Any = None

    def view(self) -> dict[str, Any]:
        scenario = self.scenario
        limit = scenario.rate_limit
        return {
            "name": scenario.name,
            "description": scenario.description,
            "organization_id": self.org_id,
            "scope": "instance" if self.org_id is None else "organization",
            "started_at": isoformat(self.started_at),
            "state": self.state,
            "behaviour": {
                "rate_limit": None
                if limit is None
                else {"limit": limit.limit, "window_seconds": limit.window},
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


class ScenarioRunner:
    """Starts, stops and reports the scenarios of one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._runs: dict[str | None, Run] = {}
        self._lock = threading.Lock()

    def start(self, scenario: Scenario, org_id: str | None, *, base_url: str = "") -> Run:
        """Stop whatever runs for ``org_id``, put ``scenario`` in force and play its timeline."""
        self.stop(org_id)
        timeline_org = org_id or self.sandbox.world.child_org_ids[0]
        run = Run(scenario, org_id, timeline_org, self.sandbox.clock.now())
        with self._lock:
            self._runs[org_id] = run
        self.sandbox.behaviour.apply(org_id, scenario)
        self._play(run, base_url)
        return run

    def stop(self, org_id: str | None) -> Run | None:
        """Take the scenario of ``org_id`` out of force and cancel the rest of its timeline."""
        with self._lock:
            run = self._runs.pop(org_id, None)
        self.sandbox.behaviour.remove(org_id)
        if isinstance(self.sandbox.limiter, TenantLimiter):
            self.sandbox.limiter.forget(org_id)
        if run is not None:
            with run.lock:
                if run.task is not None:
                    run.task.cancel()
                run.state, run.resumes_at = "stopped", None
        return run

    def stop_all(self) -> None:
        """Stop every run (a whole-world reset)."""
        with self._lock:
            org_ids = list(self._runs)
        for org_id in org_ids:
            self.stop(org_id)

    def status(self, org_id: str | None) -> Run | None:
        """The run in force for ``org_id``: its own, else the instance-wide one."""
        with self._lock:
            return self._runs.get(org_id) or self._runs.get(None)

    def _play(self, run: Run, base_url: str) -> None:
        """Run steps until the end of the timeline or a ``wait``."""
        with run.lock:
            run.task, run.resumes_at = None, None
            while run.state != "stopped" and run.next_step < len(run.scenario.timeline):
                step = run.scenario.timeline[run.next_step]
                run.next_step += 1
                if step.kind == "wait":
                    due = self.sandbox.clock.now() + parse_duration(step.value)
                    run.state, run.resumes_at = "waiting", due
                    self._log(run, step, {"resumes_at": isoformat(due)})
                    run.task = self.sandbox.clock.call_at(due, lambda: self._play(run, base_url))
                    return
                run.state = "running"
                self._log(run, step, STEPS[step.kind](self, run, step, base_url))
            if run.state != "stopped":
                run.state = "done"

    def _log(self, run: Run, step: Step, result: dict[str, Any]) -> None:
        run.log.append(
            {
                "step": run.next_step - 1,
                "kind": step.kind,
                "value": step.value,
                "at": isoformat(self.sandbox.clock.now()),
                "result": result,
            }
        )

    def settle(self, org_id: str) -> None:
        """Wait (bounded) until the organization's deliveries are out."""
        if any(True for _ in self.sandbox.store.scan("webhook", org_id)):
            self.sandbox.webhooks.drain(SETTLE_SECONDS)


# Steps ---------------------------------------------------------------------------------------


def _trigger(runner: ScenarioRunner, run: Run, step: Step, base_url: str) -> dict[str, Any]:
    from ..triggers import trigger

    events: list[dict[str, Any]] = []
    for _ in range(step.options.get("count", 1)):
        events += trigger(runner.sandbox, run.timeline_org, step.value, base_url=base_url)["events"]
    run.emitted += [event["id"] for event in events]
    runner.settle(run.timeline_org)
    return {"events": len(events), "types": _tally(events)}


def _create(runner: ScenarioRunner, run: Run, step: Step, base_url: str) -> dict[str, Any]:
    from ..triggers import create_records

    made = create_records(
        runner.sandbox,
        run.timeline_org,
        step.value,
        step.options.get("count", 1),
        step.options.get("fields") or {},
        base_url=base_url,
    )
    run.emitted += [event["id"] for event in made["events"]]
    runner.settle(run.timeline_org)
    return {"created": made["records"], "events": len(made["events"])}


def _replay(runner: ScenarioRunner, run: Run, step: Step, base_url: str) -> dict[str, Any]:
    options, sandbox, org_id = step.value or {}, runner.sandbox, run.timeline_org
    if "last" in options:
        ids = [event["id"] for event in sandbox.store.scan("event", org_id)][: options["last"]][::-1]
    else:
        ids = list(run.emitted)
    if options.get("types"):
        kept = set(options["types"])
        ids = [
            event_id
            for event_id in ids
            if (sandbox.store.get("event", org_id, event_id) or {}).get("type") in kept
        ]
    order = options.get("order", "emitted")
    if order == "reverse":
        ids.reverse()
    elif order == "shuffle":
        random.Random(options.get("seed", sandbox.settings.SEED)).shuffle(ids)
    deliveries = 0
    for event_id in ids:  # one at a time, so they arrive in the order chosen
        for _ in range(options.get("times", 1)):
            deliveries += sandbox.webhooks.replay_event(org_id, event_id) or 0
            runner.settle(org_id)
    return {"events": len(ids), "deliveries": deliveries, "order": order, "event_ids": ids}


def _rotate(runner: ScenarioRunner, run: Run, step: Step, base_url: str) -> dict[str, Any]:
    sandbox, org_id, rotated = runner.sandbox, run.timeline_org, []
    for webhook in list(sandbox.store.scan("webhook", org_id)):
        record, secret = sandbox.webhooks.rotate_secret(org_id, webhook["id"])
        sandbox.audit.record(org_id, "webhook.secret_rotated", {"webhook_id": record["id"]}, source="system")
        # The sandbox guards nothing real: the status shows the new secret so a receiver can deploy it.
        rotated.append(
            {
                "webhook_id": record["id"],
                "signing_secret": secret,
                "signing_secret_prefix": record["signing_secret_prefix"],
            }
        )
    runner.settle(org_id)
    return {"rotated": rotated}


def _advance(runner: ScenarioRunner, run: Run, step: Step, base_url: str) -> dict[str, Any]:
    fired = runner.sandbox.clock.advance(parse_duration(step.value))
    runner.settle(run.timeline_org)
    return {"fired": len(fired), "now": isoformat(runner.sandbox.clock.now())}


def _tally(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        counts[event["type"]] = counts.get(event["type"], 0) + 1
    return counts


STEPS = {
    "trigger": _trigger,
    "create": _create,
    "replay": _replay,
    "rotate_secret": _rotate,
    "advance": _advance,
}
