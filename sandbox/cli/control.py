"""``eal-sandbox`` commands that drive a running sandbox's control plane: ``clock``, ``reset``,
``trigger`` and ``journal`` (see ``common`` for ``--url``/``--key``/``--json``)."""

from __future__ import annotations

from typing import Any

import click

from .common import Control, Duration, EventType, connection_options, json_option, output, table

# clock -----------------------------------------------------------------------------------------


@click.group()
def clock() -> None:
    """Read or advance the sandbox clock (one clock per sandbox instance)."""


def _clock_line(state: dict[str, Any]) -> list[str]:
    fired = f"  fired={state['fired']}" if "fired" in state else ""
    return [f"{state['now']}  virtual={str(state['virtual']).lower()}{fired}  pending_tasks={state['pending_tasks']}"]


@clock.command("show")
@connection_options
@json_option
def clock_show(url: str, key: str | None, as_json: bool) -> None:
    """Print the sandbox clock (no key needed; a --key given is sent)."""
    output(Control(url, key).get("/_sandbox/clock", keyed=None), as_json, _clock_line)


@clock.command("advance")
@click.argument("duration", type=Duration())
@connection_options
@json_option
def clock_advance(duration: str, url: str, key: str | None, as_json: bool) -> None:
    """Advance the clock by DURATION (90s, 5m, 24h, 7d, 1h30m), firing everything due on the way.

    Takes an admin key."""
    output(Control(url, key).post("/_sandbox/clock/advance", {"by": duration}), as_json, _clock_line)


# reset -----------------------------------------------------------------------------------------


@click.command()
@click.option("--world", is_flag=True, help="reset every organization, not only the key's")
@connection_options
@json_option
def reset(world: bool, url: str, key: str | None, as_json: bool) -> None:
    """Put the key's organization (or, with --world, everything) back to the seed."""
    body = Control(url, key, network=world).post("/_sandbox/reset", {"scope": "world" if world else "organization"})

    def summary(body: dict[str, Any]) -> list[str]:
        target = "the whole world" if body["reset"] == "world" else f"organization {body['organization_id']}"
        return [f"reset {target} to seed {body['seed']}"]

    output(body, as_json, summary)


# trigger ---------------------------------------------------------------------------------------


def _trigger_help() -> str:
    from ..services.webhooks import EVENT_TYPES

    return (
        "Create the state behind EVENT and deliver its webhooks (like `stripe trigger`).\n\n"
        f"EVENT is one of: {', '.join(EVENT_TYPES)}."
    )


@click.command(help=_trigger_help())
@click.argument("event", type=EventType())
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 50), help="how many times")
@connection_options
@json_option
def trigger(event: str, count: int, url: str, key: str | None, as_json: bool) -> None:
    result = Control(url, key).post("/_sandbox/trigger", {"event": event, "count": count})

    def summary(result: dict[str, Any]) -> list[str]:
        lines = [f"{kind:<8} {', '.join(ids)}" for kind, ids in result["records"].items()]
        return lines + [f"emitted {emitted['type']:<24} {emitted['id']}" for emitted in result["events"]]

    output(result, as_json, summary)


# journal ---------------------------------------------------------------------------------------


@click.group()
def journal() -> None:
    """Read, clear or summarise the request journal of the key's organization."""


@journal.command("show")
@click.option("--method", help="GET, POST, PATCH, …")
@click.option("--path", "path_filter", help="exact path, or a prefix ending in *")
@click.option("--status", type=int)
@click.option("--operation-id")
@click.option("--since", help="only requests at or after this ISO 8601 instant (sandbox clock)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@connection_options
@json_option
def journal_show(
    method: str | None,
    path_filter: str | None,
    status: int | None,
    operation_id: str | None,
    since: str | None,
    limit: int,
    url: str,
    key: str | None,
    as_json: bool,
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
    body = Control(url, key).get("/_sandbox/journal", params={k: v for k, v in query.items() if v is not None})

    def summary(body: dict[str, Any]) -> list[str]:
        return [
            f"{entry['at']}  {entry['status']}  {entry['method']:<6} {entry['path']}  "
            f"{entry['operation_id'] or '-'}  {entry['correlation_id'] or ''}".rstrip()
            for entry in body["data"]
        ] or ["no journaled request matches"]

    output(body, as_json, summary)


@journal.command("coverage")
@connection_options
@json_option
def journal_coverage(url: str, key: str | None, as_json: bool) -> None:
    """Print which operations and status codes the key's organization exercised."""

    def summary(body: dict[str, Any]) -> list[str]:
        rows = [
            (
                row["method"],
                row["path"],
                ", ".join(f"{code}x{count}" for code, count in row["statuses"].items()) or "never called",
            )
            for row in body["operations"]
        ]
        return table(("METHOD", "PATH", "STATUSES"), rows) + ["", f"{body['called']}/{body['total']} operations called"]

    output(Control(url, key).get("/_sandbox/journal/coverage"), as_json, summary)


@journal.command("clear")
@connection_options
@json_option
def journal_clear(url: str, key: str | None, as_json: bool) -> None:
    """Forget the key's organization's journal and coverage."""
    output(Control(url, key).delete("/_sandbox/journal"), as_json, lambda body: [f"cleared {body['cleared']} requests"])
