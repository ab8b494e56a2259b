"""``eal-sandbox webhooks``: register, list, delete and rotate webhook subscriptions and read their
delivery attempts, through the v1 API (``/api/v1/webhooks``) with the key (an admin key to change
them, any key to read)."""

from __future__ import annotations

from typing import Any

import click

from .common import API_PREFIX, Control, EventTypes, connection_options, json_option, output, show_json, table

WEBHOOKS = f"{API_PREFIX}/webhooks"


@click.group()
def webhooks() -> None:
    """Register and inspect webhook subscriptions (the v1 API's /webhooks)."""


@webhooks.command("create")
@click.argument("endpoint", metavar="URL")
@click.option(
    "--events", "events", required=True, type=EventTypes(), help="event types to receive, comma-separated, or all"
)
@click.option("--description", default=None, help="a note shown in the list")
@connection_options
@json_option
def webhooks_create(
    endpoint: str, events: list[str], description: str | None, url: str, key: str | None, as_json: bool
) -> None:
    """Subscribe URL (HTTPS, or http:// to loopback) to events; prints the signing secret once.

    Takes an admin key."""
    body: dict[str, Any] = {"url": endpoint, "events": events}
    if description is not None:
        body["description"] = description
    created = Control(url, key).post(WEBHOOKS, body)

    def summary(created: dict[str, Any]) -> list[str]:
        return [
            f"created webhook {created['id']} -> {created['url']}",
            f"  events:         {', '.join(created['events'])}",
            f"  signing secret: {created['signing_secret']}  (shown once: save it now)",
        ]

    output(created, as_json, summary)


@webhooks.command("list")
@connection_options
@json_option
def webhooks_list(url: str, key: str | None, as_json: bool) -> None:
    """The organization's subscriptions: id, state, last delivery, URL and events."""
    records = list(Control(url, key).pages(WEBHOOKS))
    if as_json:
        show_json({"data": records, "next_cursor": None})
        return
    if not records:
        click.echo("no webhook subscriptions (eal-sandbox webhooks create URL --events TYPE,… adds one)")
        return
    rows = [
        (r["id"], "enabled" if r["enabled"] else "disabled", r["last_delivery_status"], r["url"], ",".join(r["events"]))
        for r in records
    ]
    for line in table(("ID", "STATE", "LAST", "URL", "EVENTS"), rows):
        click.echo(line)


@webhooks.command("delete")
@click.argument("webhook_id", metavar="ID")
@connection_options
@json_option
def webhooks_delete(webhook_id: str, url: str, key: str | None, as_json: bool) -> None:
    """Delete subscription ID (queued retries stop at once). Takes an admin key."""
    body = Control(url, key).delete(f"{WEBHOOKS}/{webhook_id}")
    output(body, as_json, lambda body: [f"deleted webhook {body['id']}"])


@webhooks.command("rotate")
@click.argument("webhook_id", metavar="ID")
@connection_options
@json_option
def webhooks_rotate(webhook_id: str, url: str, key: str | None, as_json: bool) -> None:
    """Rotate the signing secret of ID; prints the new one once. Takes an admin key.

    For 24 hours (sandbox clock) deliveries also carry X-EAL-Signature-Previous, made with the old
    secret, so a receiver can switch when it is ready."""
    body = Control(url, key).post(f"{WEBHOOKS}/{webhook_id}/rotate-secret")

    def summary(body: dict[str, Any]) -> list[str]:
        return [
            f"rotated the secret of webhook {body['id']}",
            f"  new signing secret: {body['signing_secret']}  (shown once: save it now)",
            "  the previous secret keeps verifying (X-EAL-Signature-Previous) for 24 hours",
        ]

    output(body, as_json, summary)


@webhooks.command("deliveries")
@click.argument("webhook_id", metavar="ID")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 100),
    help="attempts to show (the sandbox keeps the last 100)",
)
@connection_options
@json_option
def webhooks_deliveries(webhook_id: str, limit: int, url: str, key: str | None, as_json: bool) -> None:
    """The delivery attempts to ID, newest first (replay one with eal-sandbox events replay)."""
    body = Control(url, key).get(f"{WEBHOOKS}/{webhook_id}/deliveries", params={"limit": limit})

    def summary(body: dict[str, Any]) -> list[str]:
        if not body["data"]:
            return [f"no delivery attempts to webhook {webhook_id} yet"]
        rows = [
            (
                d["id"],
                d["event"],
                d.get("event_id"),
                d["status"],
                d["response_status"],
                None if d["latency_ms"] is None else f"{d['latency_ms']} ms",
                d["attempt"],
                d["delivered_at"],
            )
            for d in body["data"]
        ]
        return table(("DELIVERY", "EVENT", "EVENT ID", "STATUS", "CODE", "LATENCY", "ATTEMPT", "AT"), rows)

    output(body, as_json, summary)
