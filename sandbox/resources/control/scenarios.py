"""Scenarios put in force per organization, and their status (tag ``sandbox-scenarios``)."""

from __future__ import annotations

from typing import Any

from ...base.errors import NotFound, ValidationFailed, field_error
from ...services.scenarios import Scenario, ScenarioError, available, from_mapping, load
from ..request import ApiRequest, Reply


def _scenario_summary(scenario: Scenario) -> dict[str, Any]:
    limit = scenario.rate_limit
    return {
        "name": scenario.name,
        "description": scenario.description,
        "rate_limit": None if limit is None else {"limit": limit.limit, "window_seconds": limit.window},
        "latency_rules": len(scenario.latency),
        "fault_rules": len(scenario.faults),
        "steps": len(scenario.timeline),
    }


def list_scenarios(request: ApiRequest) -> dict[str, Any]:
    """The shipped scenarios, and which one is in force for the caller's organization."""
    running = request.sandbox.runs.status(request.org_id)
    data = []
    for name in available():
        try:
            entry = _scenario_summary(load(name))
        except ScenarioError as error:
            entry = {
                "name": name,
                "description": f"invalid: {error.problems[0]}",
                "rate_limit": None,
                "latency_rules": 0,
                "fault_rules": 0,
                "steps": 0,
            }
        data.append({**entry, "active": running is not None and running.scenario.name == name})
    return {"data": data}


def get_active_scenario(request: ApiRequest) -> dict[str, Any]:
    """The scenario in force for the caller's organization, with its timeline so far."""
    run = request.sandbox.runs.status(request.org_id)
    return {"running": run is not None, "run": None if run is None else run.view()}


def _requested_scenario(body: dict[str, Any]) -> Scenario:
    """The shipped (``name``) or inline (``scenario``) scenario of the body, or the 404/400 saying why not."""
    try:
        if "scenario" in body:
            return from_mapping(body["scenario"], "body.scenario")
        return load(body["name"])
    except ScenarioError as error:
        first = error.problems[0]
        if "scenario" not in body and not first.location and "no shipped" in first.message:
            raise NotFound(
                f"No scenario named '{body['name']}': {first.message}", details={"name": body["name"]}
            ) from None
        prefix = "body.scenario" if "scenario" in body else f"scenarios/{body['name']}.yaml"
        raise ValidationFailed(
            [
                field_error(f"{prefix}.{problem.location}".rstrip("."), problem.message, "scenario")
                for problem in error.problems
            ]
        ) from None


def start_scenario(request: ApiRequest) -> Reply:
    """Put a shipped or inline scenario in force for the caller's organization and play its timeline."""
    scenario = _requested_scenario(request.body)
    run = request.control.start_scenario(request, scenario)
    request.audit("sandbox.scenario_started", {"scenario": scenario.name})
    return Reply(run.view(), 201)


def stop_scenario(request: ApiRequest) -> dict[str, Any]:
    """Take the caller's organization's scenario out of force; its records stay."""
    run = request.sandbox.runs.stop(request.org_id)
    return {"stopped": run is not None, "run": None if run is None else run.view()}
