"""``eal-sandbox scenarios``: list and validate scenario files here; start, stop and inspect them in
a running sandbox, with a short summary of the run (``--json`` for the whole answer)."""

from __future__ import annotations

import json
from typing import Any

import click

from .common import Control, connection_options, json_option, output, scenario_or_exit

SHOWN_STEPS = 10  # the summary shows the last ten timeline steps; --json shows every one


@click.group()
def scenarios() -> None:
    """List, validate, start, stop and inspect scenarios."""


@scenarios.command("list")
@json_option
def scenarios_list(as_json: bool) -> None:
    """The shipped scenarios (no server needed)."""
    from ..services.scenarios import ScenarioError, available, load

    rows = []
    for name, path in available().items():
        try:
            description = load(name).description
        except ScenarioError as error:
            description = f"INVALID: {error.problems[0]}"
        rows.append({"name": name, "description": description, "path": str(path)})
    output(rows, as_json, lambda rows: [f"{r['name']:<18} {r['description'].splitlines()[0][:100]}" for r in rows])


@scenarios.command("validate")
@click.argument("scenario", metavar="NAME|PATH")
def scenarios_validate(scenario: str) -> None:
    """Check a scenario file (or shipped name); exit 2 with every problem if it is invalid."""
    loaded = scenario_or_exit(scenario)
    click.echo(f"{loaded.source}: valid scenario '{loaded.name}' ({len(loaded.timeline)} steps)")


@scenarios.command("start")
@click.argument("scenario", metavar="NAME|PATH")
@connection_options
@json_option
def scenarios_start(scenario: str, url: str, key: str | None, as_json: bool) -> None:
    """Start SCENARIO (a shipped name, or a file sent inline) for the key's organization.

    Takes an admin key. A file is checked here first: an invalid one exits 2 with every problem."""
    import yaml

    if "/" in scenario or scenario.endswith((".yaml", ".yml")):
        loaded = scenario_or_exit(scenario)
        with open(loaded.source, encoding="utf-8") as handle:
            body = {"scenario": yaml.safe_load(handle)}
    else:
        body = {"name": scenario}
    output(Control(url, key).post("/_sandbox/scenarios/active", body), as_json, lambda run: run_summary(run, "started"))


@scenarios.command("stop")
@connection_options
@json_option
def scenarios_stop(url: str, key: str | None, as_json: bool) -> None:
    """Stop the key's organization's scenario (takes an admin key)."""

    def summary(body: dict[str, Any]) -> list[str]:
        run = body["run"]
        if not body["stopped"] or run is None:
            return ["no scenario was running for this organization"]
        return [
            f"stopped scenario '{run['name']}' ({run['timeline']['steps_done']}/"
            f"{run['timeline']['steps_total']} timeline steps had played)"
        ]

    output(Control(url, key).delete("/_sandbox/scenarios/active"), as_json, summary)


@scenarios.command("status")
@connection_options
@json_option
def scenarios_status(url: str, key: str | None, as_json: bool) -> None:
    """Show the scenario in force for the key's organization and its timeline so far."""

    def summary(body: dict[str, Any]) -> list[str]:
        if not body["running"] or body["run"] is None:
            return ["no scenario in force for this organization"]
        return run_summary(body["run"], "in force")

    output(Control(url, key).get("/_sandbox/scenarios/active"), as_json, summary)


# The summary ---------------------------------------------------------------------------------


def run_summary(run: dict[str, Any], verb: str) -> list[str]:
    """A few lines on a ScenarioRun: what is in force and each step's outcome."""
    whom = "every organization" if run["organization_id"] is None else f"organization {run['organization_id']}"
    timeline = run["timeline"]
    state = run["state"]
    if timeline["resumes_at"]:
        state += f", resumes at {timeline['resumes_at']} (sandbox clock)"
    lines = [
        f"scenario '{run['name']}' {verb} for {whom} since {run['started_at']}",
        f"  behaviour: {_behaviour(run['behaviour'])}",
        f"  timeline:  {timeline['steps_done']}/{timeline['steps_total']} steps, {state}",
    ]
    steps = timeline["steps"]
    if len(steps) > SHOWN_STEPS:
        lines.append(f"    … {len(steps) - SHOWN_STEPS} earlier steps (--json shows them)")
    for step in steps[-SHOWN_STEPS:]:
        lines.append(f"    {step['step']:>2}. {_step_name(step):<28} {_outcome(step['kind'], step['result'])}")
    return lines


def _behaviour(behaviour: dict[str, Any]) -> str:
    parts = []
    if behaviour["rate_limit"]:
        limit = behaviour["rate_limit"]
        parts.append(f"rate limit {limit['limit']} requests per {limit['window_seconds']}s")
    if behaviour["latency_rules"]:
        parts.append(f"{behaviour['latency_rules']} latency rule(s)")
    if behaviour["fault_rules"]:
        parts.append(f"{behaviour['fault_rules']} fault rule(s)")
    return ", ".join(parts) or "none (the API answers normally)"


def _step_name(step: dict[str, Any]) -> str:
    value = step["value"]
    shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return f"{step['kind']} {shown}" if shown not in (None, "null") else step["kind"]


def _outcome(kind: str, result: dict[str, Any]) -> str:
    if kind == "trigger":
        types = ", ".join(f"{count} {name}" for name, count in result.get("types", {}).items())
        return f"{result.get('events', 0)} events: {types}" if types else "no events"
    if kind == "create":
        made = "; ".join(f"{kind} {', '.join(ids)}" for kind, ids in result.get("created", {}).items())
        return f"created {made}; {result.get('events', 0)} events"
    if kind == "replay":
        again = f"{result.get('events', 0)} events again, {result.get('deliveries', 0)} deliveries"
        return f"{again} ({result.get('order')})"
    if kind == "rotate_secret":
        rotated = result.get("rotated") or []
        return "; ".join(f"webhook {r['webhook_id']} new secret {r['signing_secret']}" for r in rotated) or (
            "no subscription to rotate"
        )
    if kind == "advance":
        return f"fired {result.get('fired', 0)}, clock now {result.get('now')}"
    if kind == "wait":
        return f"waits until {result.get('resumes_at')}"
    return json.dumps(result, separators=(",", ":"))
