"""``eal-sandbox events``: the webhook events emitted for the key's organization
(``/_sandbox/events``) and their replay (``/_sandbox/webhooks/…/replay``)."""

from __future__ import annotations

import re
from typing import Any

import click

from .common import Control, connection_options, json_option, output, table

_EVENT_ID = re.compile(r"^evt_[a-z0-9]+$")
_DELIVERY_ID = re.compile(r"^whd_[a-z0-9]+$")


@click.group()
def events() -> None:
    """List the organization's webhook events and deliver one again."""


@events.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--cursor", default=None, help="the next page (printed under a full page)")
@connection_options
@json_option
def events_list(limit: int, cursor: str | None, url: str, key: str | None, as_json: bool) -> None:
    """The events emitted for the key's organization, newest first, with the ids to replay."""
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    body = Control(url, key).get("/_sandbox/events", params=params)

    def summary(body: dict[str, Any]) -> list[str]:
        if not body["data"]:
            return ["no events yet (eal-sandbox trigger EVENT makes one)"]
        lines = table(("CREATED", "TYPE", "ID"), ((e["created_at"], e["type"], e["id"]) for e in body["data"]))
        if body.get("next_cursor"):
            lines.append(f"more: eal-sandbox events list --cursor {body['next_cursor']}")
        return lines

    output(body, as_json, summary)


@events.command("replay")
@click.argument("event_id", metavar="ID")
@click.option(
    "--webhook",
    "webhook_id",
    default=None,
    metavar="WEBHOOK_ID",
    help="deliver to this subscription only (default: every subscription that wants the event)",
)
@connection_options
@json_option
def events_replay(event_id: str, webhook_id: str | None, url: str, key: str | None, as_json: bool) -> None:
    """Deliver event ID (evt_…) again: same event id, fresh timestamp and signature.

    ID may also be a delivery id (whd_…, from eal-sandbox webhooks deliveries): its event goes again
    to that delivery's subscription only. Takes a write key."""
    control = Control(url, key)
    if _DELIVERY_ID.fullmatch(event_id):
        if webhook_id is not None:
            raise click.UsageError("--webhook goes with an event id; a delivery is replayed to its own subscription")
        body = control.post(f"/_sandbox/webhooks/deliveries/{event_id}/replay")
    elif _EVENT_ID.fullmatch(event_id):
        body = control.post(
            f"/_sandbox/webhooks/events/{event_id}/replay", {"webhook_id": webhook_id} if webhook_id else None
        )
    else:
        raise click.BadParameter(
            f"'{event_id}' is neither an event id (evt_…) nor a delivery id (whd_…)", param_hint="'ID'"
        )

    def summary(body: dict[str, Any]) -> list[str]:
        count = body["deliveries_scheduled"]
        if count == 0:
            return [f"replayed {event_id}: no subscription wants it, nothing was sent"]
        return [
            f"replayed {event_id}: {count} {'delivery' if count == 1 else 'deliveries'} scheduled "
            "(see eal-sandbox webhooks deliveries WEBHOOK_ID)"
        ]

    output(body, as_json, summary)
