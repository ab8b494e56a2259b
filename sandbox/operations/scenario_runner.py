"""Playing scenario timelines: each step through the same triggers and handlers the API runs.

A run belongs to one organization (started through the control API with that organization's key)
or to every organization (``serve --scenario``; its timeline then plays for the first child
location). Steps run in order, synchronously, in the request or command that started the run;
``wait`` hands the rest of the timeline to the sandbox clock, so it plays when the clock gets there
(advanced, or in real time). After each step that emits events the runner waits, at most
``SETTLE_SECONDS``, for the organization's deliveries in flight (never for retries parked on the
clock, nor for another organization's work), so a later step — a rotation, a clock advance —
happens after them, as on a real timeline; each step's result says ``deliveries_settled``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base.clock import isoformat
from ..base.durations import parse_duration
from ..resources.request import Orchestration
from ..services.bundle import SandboxServices
from ..services.scenarios import Run, Scenario
from ..services.scenarios.loader import Step
from ..services.scenarios.runs import RESUME_TASK
from .registry import OperationRegistry
from .triggers import create_records, trigger

SETTLE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _Playing:
    """What a step works with."""

    registry: OperationRegistry
    control: Orchestration
    sandbox: SandboxServices
    run: Run
    base_url: str

    @property
    def org_id(self) -> str:
        return self.run.timeline_org

    def settle(self) -> bool:
        """Wait (bounded) until the organization's deliveries in flight are out; False on timeout."""
        return self.sandbox.webhooks.settle(self.org_id, SETTLE_SECONDS)


class ScenarioRunner:
    """Starts scenarios and plays their timelines, for any sandbox of the process."""

    def __init__(self, registry: OperationRegistry, control: Orchestration) -> None:
        self.registry, self.control = registry, control

    def start(self, sandbox: SandboxServices, scenario: Scenario, org_id: str | None, *, base_url: str = "") -> Run:
        """Put ``scenario`` in force for ``org_id`` (replacing what ran) and play its timeline."""
        run = sandbox.runs.begin(scenario, org_id, org_id or sandbox.world.child_org_ids[0])
        return self._play(sandbox, run, base_url)

    def resume(self, sandbox: SandboxServices, payload: dict[str, Any]) -> None:
        """The clock task a ``wait`` left: play the rest of the timeline, if the run is still the same."""
        run = sandbox.runs.load(payload["key"])
        if run is not None and run.id == payload["run_id"] and run.state == "waiting":
            self._play(sandbox, run, payload["base_url"])

    def _play(self, sandbox: SandboxServices, run: Run, base_url: str) -> Run:
        """Run steps until the end of the timeline or a ``wait``, keeping the run after each step."""
        playing = _Playing(self.registry, self.control, sandbox, run, base_url)
        clock = sandbox.clock
        with sandbox.runs.locked(run.key):
            run.resumes_at = None
            while run.next_step < len(run.scenario.timeline):
                step = run.scenario.timeline[run.next_step]
                run.next_step += 1
                if step.kind == "wait":
                    due = clock.now() + parse_duration(step.value)
                    run.state, run.resumes_at = "waiting", due
                    _log(playing, step, {"resumes_at": isoformat(due)})
                    if sandbox.runs.save(run):
                        clock.call_at(
                            due,
                            RESUME_TASK,
                            {"key": run.key, "run_id": run.id, "base_url": base_url},
                            tag=f"run:{run.key}",
                        )
                    return run
                run.state = "running"
                _log(playing, step, STEPS[step.kind](playing, step))
                if not sandbox.runs.save(run):  # stopped or replaced meanwhile
                    run.state = "stopped"
                    return run
            run.state = "done"
            sandbox.runs.save(run)
        return run


def _log(playing: _Playing, step: Step, result: dict[str, Any]) -> None:
    playing.run.log.append(
        {
            "step": playing.run.next_step - 1,
            "kind": step.kind,
            "value": step.value,
            "at": isoformat(playing.sandbox.clock.now()),
            "result": result,
        }
    )


# Steps ---------------------------------------------------------------------------------------


def _trigger(playing: _Playing, step: Step) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    for _ in range(step.options.get("count", 1)):
        events += trigger(
            playing.registry, playing.control, playing.sandbox, playing.org_id, step.value, base_url=playing.base_url
        )["events"]
    playing.run.emitted += [event["id"] for event in events]
    return {"events": len(events), "types": _tally(events), "deliveries_settled": playing.settle()}


def _create(playing: _Playing, step: Step) -> dict[str, Any]:
    made = create_records(
        playing.registry,
        playing.control,
        playing.sandbox,
        playing.org_id,
        step.value,
        step.options.get("count", 1),
        step.options.get("fields") or {},
        base_url=playing.base_url,
    )
    playing.run.emitted += [event["id"] for event in made["events"]]
    return {"created": made["records"], "events": len(made["events"]), "deliveries_settled": playing.settle()}


def _replay(playing: _Playing, step: Step) -> dict[str, Any]:
    options, sandbox, org_id = step.value or {}, playing.sandbox, playing.org_id
    if "last" in options:
        ids = [event["id"] for event in sandbox.store.scan("event", org_id)][: options["last"]][::-1]
    else:
        ids = list(playing.run.emitted)
    if options.get("types"):
        kept = set(options["types"])
        ids = [event_id for event_id in ids if (sandbox.store.get("event", org_id, event_id) or {}).get("type") in kept]
    order = options.get("order", "emitted")
    if order == "reverse":
        ids.reverse()
    elif order == "shuffle":
        random.Random(options.get("seed", sandbox.settings.SEED)).shuffle(ids)
    deliveries, settled = 0, True
    for event_id in ids:  # one at a time, so they arrive in the order chosen
        for _ in range(options.get("times", 1)):
            deliveries += sandbox.webhooks.replay_event(org_id, event_id) or 0
            settled = playing.settle() and settled
    return {
        "events": len(ids),
        "deliveries": deliveries,
        "order": order,
        "event_ids": ids,
        "deliveries_settled": settled,
    }


def _rotate(playing: _Playing, step: Step) -> dict[str, Any]:
    sandbox, org_id, rotated = playing.sandbox, playing.org_id, []
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
    return {"rotated": rotated, "deliveries_settled": playing.settle()}


def _advance(playing: _Playing, step: Step) -> dict[str, Any]:
    fired = playing.sandbox.clock.advance(parse_duration(step.value))
    return {"fired": len(fired), "now": isoformat(playing.sandbox.clock.now()), "deliveries_settled": playing.settle()}


def _tally(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        counts[event["type"]] = counts.get(event["type"], 0) + 1
    return counts


STEPS: dict[str, Callable[[_Playing, Step], dict[str, Any]]] = {
    "trigger": _trigger,
    "create": _create,
    "replay": _replay,
    "rotate_secret": _rotate,
    "advance": _advance,
}
