"""``eal-sandbox`` commands that drive a running sandbox.

Importing this module registers the commands on ``sandbox.cli.main``: ``clock``, ``reset``,
``trigger``, ``scenarios``, ``journal`` and ``check-receiver``. Client commands talk to the
control API over HTTP (httpx): ``--url`` (default ``http://127.0.0.1:4010``, or
``EAL_SANDBOX_URL``) and ``--key`` (or ``EAL_SANDBOX_KEY``; default: the admin key of the first
location, or of the network for ``reset --world``, read from ``/_sandbox/keys``). Exit codes:
0 done, 1 the sandbox or receiver said no, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
import httpx

from .cli import main, scenario_or_exit
from .webhooks.subscriptions import EVENT_TYPES

DEFAULT_URL = "http://127.0.0.1:4010"


# The control API client ------------------------------------------------------------------------


class Control:
    """A small client of the sandbox control API."""

    def __init__(self, url: str, key: str | None, *, network: bool = False) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False)
        self.key = key or self._default_key(network)

    def _default_key(self, network: bool) -> str:
        keys = self._send("GET", "/_sandbox/keys", keyed=False)["data"]
        admins = [key for key in keys if "admin" in key["scopes"]]
        wanted = [key for key in admins if (key.get("parent_organization_id") is None) == network]
        if not wanted:
            raise click.ClickException("the sandbox lists no suitable admin key; pass --key")
        chosen = wanted[0]  # the network's admin key for world-wide actions, else the first location's
        click.echo(
            f"(using the admin key of {chosen.get('organization_name') or chosen['organization_id']})",
            err=True,
        )
        return str(chosen["token"])

    def _send(self, method: str, path: str, *, keyed: bool = True, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if keyed else {}
        try:
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise click.ClickException(f"cannot reach the sandbox at {self.url}: {error}") from None
        body = (
            response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        )
        if response.status_code >= 400:
            problem = body.get("error", {}) if isinstance(body, dict) else {}
            message = problem.get("message") or response.text[:300]
            fields = (problem.get("details") or {}).get("fields") or []
            extra = "".join(f"\n  {f['location']}: {f['message']}" for f in fields)
            raise click.ClickException(
                f"{method} {path} -> {response.status_code} {problem.get('code', '')}: {message}{extra}"
            )
        return body

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._send("GET", path, **kwargs)

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("POST", path, json=body)

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path)


def _connection(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--key",
        envvar="EAL_SANDBOX_KEY",
        default=None,
        help="an eal_test_ key (default: the first location's admin key; the network's for reset --world)",
    )(function)
    return click.option(
        "--url",
        envvar="EAL_SANDBOX_URL",
        default=DEFAULT_URL,
        show_default=True,
        help="the sandbox's base URL",
    )(function)


def _show(body: Any) -> None:
    click.echo(json.dumps(body, indent=2))


# clock -----------------------------------------------------------------------------------------


@main.group()
def clock() -> None:
    """Read or advance the sandbox clock (one clock per sandbox instance)."""


@clock.command("show")
@_connection
def clock_show(url: str, key: str | None) -> None:
    """Print the sandbox clock."""
    state = Control(url, key or "unused").get("/_sandbox/clock", keyed=False)
    click.echo(
        f"{state['now']}  virtual={str(state['virtual']).lower()}  pending_tasks={state['pending_tasks']}"
    )


@clock.command("advance")
@click.argument("duration")
@_connection
def clock_advance(duration: str, url: str, key: str | None) -> None:
    """Advance the clock by DURATION (90s, 5m, 24h, 7d, 1h30m), firing everything due on the way."""
    from .durations import parse_duration

    try:
        parse_duration(duration)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="DURATION") from None
    state = Control(url, key).post("/_sandbox/clock/advance", {"by": duration})
    click.echo(f"{state['now']}  fired={state.get('fired', 0)}  pending_tasks={state['pending_tasks']}")


# reset -----------------------------------------------------------------------------------------


@main.command()
@click.option("--world", is_flag=True, help="reset every organization, not only the key's")
@_connection
def reset(world: bool, url: str, key: str | None) -> None:
    """Put the key's organization (or, with --world, everything) back to the seed."""
    body = Control(url, key, network=world).post("/_sandbox/reset", {"scope": "world" if world else "organization"})
    target = "the whole world" if body["reset"] == "world" else f"organization {body['organization_id']}"
    click.echo(f"reset {target} to seed {body['seed']}")


# trigger ---------------------------------------------------------------------------------------


@main.command()
@click.argument("event", type=click.Choice(EVENT_TYPES))
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 50))
@_connection
def trigger(event: str, count: int, url: str, key: str | None) -> None:
    """Create the state behind EVENT and deliver its webhooks (like `stripe trigger`)."""
    result = Control(url, key).post("/_sandbox/trigger", {"event": event, "count": count})
    for kind, ids in result["records"].items():
        click.echo(f"{kind:<8} {', '.join(ids)}")
    for emitted in result["events"]:
        click.echo(f"emitted {emitted['type']:<24} {emitted['id']}")


# scenarios -------------------------------------------------------------------------------------


@main.group()
def scenarios() -> None:
    """List, validate, start, stop and inspect scenarios."""


@scenarios.command("list")
def scenarios_list() -> None:
    """The shipped scenarios (no server needed)."""
    from .scenarios import ScenarioError, available, load

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
@_connection
def scenarios_start(scenario: str, url: str, key: str | None) -> None:
    """Start SCENARIO (a shipped name, or a file sent inline) for the key's organization."""
    import yaml

    if "/" in scenario or scenario.endswith((".yaml", ".yml")):
        loaded = scenario_or_exit(scenario)
        with open(loaded.source, encoding="utf-8") as handle:
            body = {"scenario": yaml.safe_load(handle)}
    else:
        body = {"name": scenario}
    _show(Control(url, key).post("/_sandbox/scenarios/active", body))


@scenarios.command("stop")
@_connection
def scenarios_stop(url: str, key: str | None) -> None:
    """Stop the key's organization's scenario."""
    _show(Control(url, key).delete("/_sandbox/scenarios/active"))


@scenarios.command("status")
@_connection
def scenarios_status(url: str, key: str | None) -> None:
    """Show the scenario in force for the key's organization."""
    _show(Control(url, key).get("/_sandbox/scenarios/active"))


# journal ---------------------------------------------------------------------------------------


@main.group()
def journal() -> None:
    """Read, clear or summarise the request journal of the key's organization."""


@journal.command("show")
@click.option("--method")
@click.option("--path", "path_filter", help="exact path, or a prefix ending in *")
@click.option("--status", type=int)
@click.option("--operation-id")
@click.option("--since", help="only requests at or after this ISO 8601 instant (sandbox clock)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@_connection
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
@_connection
def journal_coverage(url: str, key: str | None) -> None:
    """Print which operations and status codes the key's organization exercised."""
    body = Control(url, key).get("/_sandbox/journal/coverage")
    for row in body["operations"]:
        seen = ", ".join(f"{code}x{count}" for code, count in row["statuses"].items()) or "never called"
        click.echo(f"{row['method']:<6} {row['path']:<45} {seen}")
    click.echo(f"\n{body['called']}/{body['total']} operations called")


@journal.command("clear")
@_connection
def journal_clear(url: str, key: str | None) -> None:
    """Forget the key's organization's journal and coverage."""
    click.echo(f"cleared {Control(url, key).delete('/_sandbox/journal')['cleared']} requests")


# check-receiver --------------------------------------------------------------------------------


@main.command("check-receiver")
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


