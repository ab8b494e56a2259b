"""``eal-sandbox`` commands that drive a running sandbox: ``clock``, ``reset``, ``trigger``,
``scenarios``, ``journal`` and ``check-receiver`` (see ``common`` for ``--url``/``--key``)."""

from __future__ import annotations

import json
import sys

import click

from ..services.webhooks.subscriptions import EVENT_TYPES
from .common import Control, connection_options, scenario_or_exit, show_json

# clock -----------------------------------------------------------------------------------------


@click.group()
def clock() -> None:
    """Read or advance the sandbox clock (one clock per sandbox instance)."""


@clock.command("show")
@connection_options
def clock_show(url: str, key: str | None) -> None:
    """Print the sandbox clock."""
    state = Control(url, key or "unused").get("/_sandbox/clock", keyed=False)
    click.echo(
        f"{state['now']}  virtual={str(state['virtual']).lower()}  pending_tasks={state['pending_tasks']}"
    )


@clock.command("advance")
@click.argument("duration")
@connection_options
def clock_advance(duration: str, url: str, key: str | None) -> None:
    """Advance the clock by DURATION (90s, 5m, 24h, 7d, 1h30m), firing everything due on the way."""
    from ..base.durations import parse_duration

    try:
        parse_duration(duration)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="DURATION") from None
    state = Control(url, key).post("/_sandbox/clock/advance", {"by": duration})
    click.echo(f"{state['now']}  fired={state.get('fired', 0)}  pending_tasks={state['pending_tasks']}")


# reset -----------------------------------------------------------------------------------------


@click.command()
@click.option("--world", is_flag=True, help="reset every organization, not only the key's")
@connection_options
def reset(world: bool, url: str, key: str | None) -> None:
    """Put the key's organization (or, with --world, everything) back to the seed."""
    body = Control(url, key, network=world).post("/_sandbox/reset", {"scope": "world" if world else "organization"})
    target = "the whole world" if body["reset"] == "world" else f"organization {body['organization_id']}"
    click.echo(f"reset {target} to seed {body['seed']}")


# trigger ---------------------------------------------------------------------------------------


@click.command()
@click.argument("event", type=click.Choice(EVENT_TYPES))
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 50))
@connection_options
def trigger(event: str, count: int, url: str, key: str | None) -> None:
    """Create the state behind EVENT and deliver its webhooks (like `stripe trigger`)."""
    result = Control(url, key).post("/_sandbox/trigger", {"event": event, "count": count})
    for kind, ids in result["records"].items():
        click.echo(f"{kind:<8} {', '.join(ids)}")
    for emitted in result["events"]:
        click.echo(f"emitted {emitted['type']:<24} {emitted['id']}")


# scenarios -------------------------------------------------------------------------------------


@click.group()
def scenarios() -> None:
    """List, validate, start, stop and inspect scenarios."""


@scenarios.command("list")
def scenarios_list() -> None:
    """The shipped scenarios (no server needed)."""
    from ..services.scenarios import ScenarioError, available, load

    for name, path in available().items():
        try:
            description = load(name).description
        except ScenarioError as error:
            description = f"INVALID: {error.problems[0]}"
        click.echo(f"{name:<18} {description.splitlines()[0][:100]}  ({path})")


@scenarios.command("validate")
@click.argument("scenario")
def scenarios_validate(scenario: str) -> None:
    """Check a scenario file (or shipped name); exit 2 with every problem if it is invalid."""
    loaded = scenario_or_exit(scenario)
    click.echo(f"{loaded.source}: valid scenario '{loaded.name}' ({len(loaded.timeline)} steps)")


@scenarios.command("start")
@click.argument("scenario")
@connection_options
def scenarios_start(scenario: str, url: str, key: str | None) -> None:
    """Start SCENARIO (a shipped name, or a file sent inline) for the key's organization."""
    import yaml

    if "/" in scenario or scenario.endswith((".yaml", ".yml")):
        loaded = scenario_or_exit(scenario)
        with open(loaded.source, encoding="utf-8") as handle:
            body = {"scenario": yaml.safe_load(handle)}
    else:
        body = {"name": scenario}
    show_json(Control(url, key).post("/_sandbox/scenarios/active", body))


@scenarios.command("stop")
@connection_options
def scenarios_stop(url: str, key: str | None) -> None:
    """Stop the key's organization's scenario."""
    show_json(Control(url, key).delete("/_sandbox/scenarios/active"))


@scenarios.command("status")
@connection_options
def scenarios_status(url: str, key: str | None) -> None:
    """Show the scenario in force for the key's organization."""
    show_json(Control(url, key).get("/_sandbox/scenarios/active"))


# journal ---------------------------------------------------------------------------------------


@click.group()
def journal() -> None:
    """Read, clear or summarise the request journal of the key's organization."""


@journal.command("show")
@click.option("--method")
@click.option("--path", "path_filter", help="exact path, or a prefix ending in *")
@click.option("--status", type=int)
@click.option("--operation-id")
@click.option("--since", help="only requests at or after this ISO 8601 instant (sandbox clock)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@connection_options
def journal_show(
    method: str | None,
    path_filter: str | None,
    status: int | None,
    operation_id: str | None,
    since: str | None,
    limit: int,
    url: str,
    key: str | None,
) -> None:
    """Print journaled requests, newest first."""
    query = {
        "method": method,
        "path": path_filter,
        "status": status,
        "operation_id": operation_id,
        "since": since,
        "limit": limit,
    }
    body = Control(url, key).get(
        "/_sandbox/journal", params={k: v for k, v in query.items() if v is not None}
    )
    for entry in body["data"]:
        click.echo(
            f"{entry['at']}  {entry['status']}  {entry['method']:<6} {entry['path']}  "
            f"{entry['operation_id'] or '-'}  {entry['correlation_id'] or ''}"
        )


@journal.command("coverage")
@connection_options
def journal_coverage(url: str, key: str | None) -> None:
    """Print which operations and status codes the key's organization exercised."""
    body = Control(url, key).get("/_sandbox/journal/coverage")
    for row in body["operations"]:
        seen = ", ".join(f"{code}x{count}" for code, count in row["statuses"].items()) or "never called"
        click.echo(f"{row['method']:<6} {row['path']:<45} {seen}")
    click.echo(f"\n{body['called']}/{body['total']} operations called")


@journal.command("clear")
@connection_options
def journal_clear(url: str, key: str | None) -> None:
    """Forget the key's organization's journal and coverage."""
    click.echo(f"cleared {Control(url, key).delete('/_sandbox/journal')['cleared']} requests")


# check-receiver --------------------------------------------------------------------------------


@click.command("check-receiver")
@click.argument("url")
@click.option(
    "--secret", required=True, envvar="EAL_WEBHOOK_SECRET", help="the receiver's whsec_ signing secret"
)
@click.option("--timeout", default=5.0, show_default=True, type=float, help="seconds per request")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
def check_receiver(url: str, secret: str, timeout: float, as_json: bool) -> None:
    """Send signed, forged, stale, replayed and altered deliveries to URL; exit 1 on any FAIL."""
    from .receiver_check import check_receiver as run_checks
    from .receiver_check import summary, table

    results = run_checks(url, secret, timeout=timeout)
    click.echo(json.dumps(summary(results), indent=2) if as_json else table(results))
    if not all(result.passed for result in results):
        sys.exit(1)


