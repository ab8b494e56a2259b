"""Scenarios put in force per organization, and their status (tag ``sandbox-scenarios``)."""

from __future__ import annotations

from typing import Any

from ...call import Call, Reply
from ...errors import NotFound


def _runner(call: Call) -> Any:
    from ...scenarios import attach

    return attach(call.sandbox)


def _scenario_summary(scenario: Any) -> dict[str, Any]:
    limit = scenario.rate_limit
    return {"name": scenario.name, "description": scenario.description,
            "rate_limit": None if limit is None else {"limit": limit.limit, "window_seconds": limit.window},
            "latency_rules": len(scenario.latency), "fault_rules": len(scenario.faults),
            "steps": len(scenario.timeline)}


def list_scenarios(call: Call) -> dict[str, Any]:
    """The shipped scenarios, and which one is in force for the caller's organization."""
    from ...scenarios import ScenarioError, available, load

    running = _runner(call).status(call.org_id)
    data = []
    for name in available():
        try:
            entry = _scenario_summary(load(name))
        except ScenarioError as error:
            entry = {"name": name, "description": f"invalid: {error.problems[0]}", "rate_limit": None,
                     "latency_rules": 0, "fault_rules": 0, "steps": 0}
        data.append({**entry, "active": running is not None and running.scenario.name == name})
    return {"data": data}


def get_active_scenario(call: Call) -> dict[str, Any]:
    """The scenario in force for the caller's organization, with its timeline so far."""
    run = _runner(call).status(call.org_id)
    return {"running": run is not None, "run": None if run is None else run.view()}


def start_scenario(call: Call) -> Reply:
    """Put a shipped (``name``) or inline (``scenario``) scenario in force for the caller's organization."""
    from ...errors import ValidationFailed, field_error
    from ...scenarios import ScenarioError, from_mapping, load

    body = call.body
    try:
        if "scenario" in body:
            scenario = from_mapping(body["scenario"], "body.scenario")
        else:
            scenario = load(body["name"])
    except ScenarioError as error:
        if "scenario" not in body and not error.problems[0].location and "no shipped" in error.problems[0].message:
            raise NotFound(f"No scenario named '{body['name']}': {error.problems[0].message}",
                           details={"name": body["name"]}) from None
        prefix = "body.scenario" if "scenario" in body else f"scenarios/{body['name']}.yaml"
        raise ValidationFailed([field_error(f"{prefix}.{problem.location}".rstrip("."), problem.message, "scenario")
                                for problem in error.problems]) from None
    run = _runner(call).start(scenario, call.org_id, base_url=call.base_url)
    call.sandbox.audit.from_call(call, "sandbox.scenario_started", {"scenario": scenario.name})
    return Reply(run.view(), 201)


def stop_scenario(call: Call) -> dict[str, Any]:
    """Take the caller's organization's scenario out of force; its records stay."""
    run = _runner(call).stop(call.org_id)
    return {"stopped": run is not None, "run": None if run is None else run.view()}
