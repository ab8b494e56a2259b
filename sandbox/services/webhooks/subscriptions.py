"""Webhook subscriptions as store records, and their signing secrets through rotations.

A subscription is a ``webhook`` record. Fields starting with ``_`` are internal and never leave
the sandbox: ``_secrets`` lists the signing secrets, current first, each with the instant it
stops verifying (``None`` for the current one).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...base.clock import Clock, isoformat, parse_iso
from ...base.errors import QuotaExceeded
from ...base.ids import IdFactory
from ...base.state import State
from ...base.store import Record, Store
from .urls import check_endpoint_url

EVENT_TYPES = (
    "call.received",
    "call.classified",
    "call.qualified",
    "lead.created",
    "lead.updated",
    "outreach.email.sent",
    "outreach.email.replied",
    "claim.scope.ready",
    "review.requested",
    "review.received",
    "audit.log.event",
)
ROTATION_OVERLAP = timedelta(hours=24)
SUBSCRIBED = "subscribed"  # State hash: organization id -> True once it created a subscription
SECRET_PREFIX_LENGTH = 12  # "whsec_" + 6: enough to tell secrets apart, useless to an attacker


class Subscriptions:
    """Create, rotate, disable and find the ``webhook`` records of every organization."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ids: IdFactory,
        *,
        allow_private: bool = False,
        max_previous_secrets: int = 5,
        state: State | None = None,
    ) -> None:
        """``state`` (the sandbox's) remembers which organizations ever subscribed."""
        self.store, self.clock, self.ids, self.state = store, clock, ids, state
        self.allow_private, self.max_previous_secrets = allow_private, max_previous_secrets

    def create(self, org_id: str, url: str, events: list[str], description: str | None) -> tuple[Record, str]:
        """Store a new subscription; return it and its signing secret (shown once)."""
        check_endpoint_url(url, allow_private=self.allow_private)
        secret = self.ids.secret()
        if self.state is not None:  # set before the record exists, never cleared: at worst a needless scan
            self.state.hput(SUBSCRIBED, org_id, True)
        record = {
            "id": self.ids.uuid(),
            "organization_id": org_id,
            "url": url,
            "events": _known_events(events),
            "description": description,
            "enabled": True,
            "created_at": isoformat(self.clock.now()),
            "last_delivery_at": None,
            "last_delivery_status": None,
            "signing_secret_prefix": secret[:SECRET_PREFIX_LENGTH],
            "_secrets": [{"secret": secret, "expires_at": None}],
        }
        return self.store.insert("webhook", record), secret

    def rotate(self, org_id: str, webhook_id: str) -> tuple[Record, str] | None:
        """Issue a new current secret; earlier ones keep verifying for ``ROTATION_OVERLAP``."""
        now = self.clock.now()
        expires_at = isoformat(now + ROTATION_OVERLAP)
        secret = self.ids.secret()
        with self.store.transaction():
            record = self.store.get("webhook", org_id, webhook_id)
            if record is None:
                return None
            retiring = [
                {**entry, "expires_at": entry["expires_at"] or expires_at}
                for entry in record["_secrets"]
                if _valid(entry, now)
            ]
            if len(retiring) > self.max_previous_secrets:  # the current one and this many previous ones
                raise QuotaExceeded(
                    "rotations_in_overlap",
                    self.max_previous_secrets,
                    f"{len(retiring) - 1} previous secrets of this subscription still verify; each "
                    "stops 24 hours (sandbox time) after its rotation: wait, or advance the clock",
                )
            record = self.store.update(
                "webhook",
                org_id,
                webhook_id,
                {
                    "_secrets": [{"secret": secret, "expires_at": None}, *retiring],
                    "signing_secret_prefix": secret[:SECRET_PREFIX_LENGTH],
                },
            )
        self.clock.call_at(
            now + ROTATION_OVERLAP,
            "webhook.secret_expiry",
            {"org_id": org_id, "webhook_id": webhook_id},
            tag=f"webhook:{webhook_id}",
        )
        assert record is not None
        return record, secret

    def expire_secrets(self, org_id: str, webhook_id: str) -> None:
        """Forget the secrets whose overlap has ended."""
        now = self.clock.now()
        with self.store.transaction():
            record = self.store.get("webhook", org_id, webhook_id)
            if record is not None:
                kept = [entry for entry in record["_secrets"] if _valid(entry, now)]
                self.store.update("webhook", org_id, webhook_id, {"_secrets": kept})

    def signing_secrets(self, record: Record) -> list[str]:
        """The secrets a delivery is signed with now: current first, then still-valid old ones."""
        now = self.clock.now()
        return [entry["secret"] for entry in record["_secrets"] if _valid(entry, now)]

    def matching(self, org_id: str, event_type: str) -> list[Record]:
        """The organization's enabled subscriptions to ``event_type``."""
        if self.state is not None and not self.state.hget(SUBSCRIBED, org_id):
            return []  # it never subscribed: the many events nobody receives cost no scan
        return [
            record
            for record in self.store.scan("webhook", org_id)
            if record["enabled"] and event_type in record["events"]
        ]

    def get(self, org_id: str, webhook_id: str) -> Record | None:
        return self.store.get("webhook", org_id, webhook_id)

    def update(self, org_id: str, webhook_id: str, changes: dict[str, Any]) -> Record | None:
        return self.store.update("webhook", org_id, webhook_id, changes)

    def delete(self, org_id: str, webhook_id: str) -> Record | None:
        return self.store.delete("webhook", org_id, webhook_id)


def public_view(record: Record) -> dict[str, Any]:
    """The subscription as the API shows it: internal ``_`` fields stripped."""
    return {name: value for name, value in record.items() if not name.startswith("_")}


def _valid(entry: dict[str, Any], now: datetime) -> bool:
    return entry["expires_at"] is None or parse_iso(entry["expires_at"]) > now


def _known_events(events: list[str]) -> list[str]:
    """The event names, de-duplicated in order; unknown names are a caller bug."""
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise ValueError(f"unknown webhook event types: {unknown}" if unknown else "no event types given")
    return list(dict.fromkeys(events))
