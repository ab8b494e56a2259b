"""An audit history that retells what the seeded records say happened."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...base.clock import isoformat, parse_iso
from .calls import classified_at
from .leads import previous_stage
from .seeding import Location, Seeding

LEAD_SOURCES = {
    "website": "n8n",
    "facebook": "n8n",
    "google_ads": "n8n",
    "lsa": "n8n",
    "yelp": "n8n",
    "callrail": "worker",
    "phone": "worker",
    "referral": "api",
    "manual": "api",
}
SUPPRESSION_SOURCES = {
    "api": "api",
    "manual": "api",
    "list-unsubscribe-header": "worker",
    "resend-bounce-webhook": "worker",
    "sms-stop-keyword": "worker",
}
Records = dict[str, list[dict[str, Any]]]


class History:
    """Collects one organization's audit events."""

    def __init__(self, seeding: Seeding, location: Location) -> None:
        self.seeding, self.location = seeding, location
        self.events: list[dict[str, Any]] = []

    def add(
        self,
        action: str,
        at: str | datetime,
        payload: dict[str, Any],
        source: str,
        key_scope: str | None = None,
    ) -> None:
        """Record one event; API-made ones carry the key that made them."""
        if key_scope is not None:
            payload = {**payload, "key_id": self.location.key_id(key_scope)}
        self.events.append(
            {
                "id": self.seeding.ids.uuid(),
                "organization_id": self.location.id,
                "action": action,
                "source": source,
                "correlation_id": self.seeding.ids.prefixed("corr"),
                "payload": payload,
                "created_at": at if isinstance(at, str) else isoformat(at),
            }
        )


def _newest(records: list[dict[str, Any]], count: int, field: str = "created_at") -> list[dict[str, Any]]:
    return sorted(records, key=lambda record: record[field] or "", reverse=True)[:count]


def _lead_events(history: History, leads: list[dict[str, Any]]) -> None:
    for lead in _newest(leads, 12):
        source = LEAD_SOURCES[lead["source"]]
        history.add(
            "lead.created",
            lead["created_at"],
            {"lead_id": lead["id"], "source": lead["source"]},
            source,
            "write" if source == "api" else None,
        )
    for lead in _newest([lead for lead in leads if lead["pipeline_stage"] != "new"], 10, "updated_at"):
        before = max(0, lead["lead_score"] - history.seeding.rng.randint(1, 12))
        diff = {
            "pipeline_stage": {"from": previous_stage(lead["pipeline_stage"]), "to": lead["pipeline_stage"]},
            "lead_score": {"from": before, "to": lead["lead_score"]},
        }
        history.add("lead.updated", lead["updated_at"], {"lead_id": lead["id"], "diff": diff}, "api", "write")
    for lead in _newest([lead for lead in leads if lead["crm_sync"]], 3, "updated_at"):
        history.add(
            "lead.crm_pushed",
            lead["crm_sync"]["last_synced_at"],
            {"lead_id": lead["id"], "external_id": lead["crm_sync"]["external_id"]},
            "worker",
        )


def _operations_events(history: History, records: Records) -> None:
    seeding = history.seeding
    for call in _newest(records["call"], 10):
        history.add(
            "call.classified",
            classified_at(call, seeding),
            {
                "call_id": call["id"],
                "intent": call["intent"],
                "qualified": call["qualified"],
                "confidence": call["confidence"],
                "urgency": call["urgency"],
            },
            "worker",
        )
    for claim in _newest(records["claim"], 3, "ready_at"):
        history.add(
            "claim.scope_ready",
            claim["ready_at"],
            {"claim_id": claim["id"], "scope_item_count": claim["scope_item_count"]},
            "worker",
        )
    for claim in _newest([c for c in records["claim"] if c["status"] == "reviewed"], 4, "reviewed_at"):
        history.add(
            "claim.reviewed",
            claim["reviewed_at"],
            {"claim_id": claim["id"], "decisions_recorded": claim["decisions_recorded"]},
            "api",
            "write",
        )


def _marketing_events(history: History, records: Records) -> None:
    seeding = history.seeding
    for item in _newest([c for c in records["content"] if c["status"] == "published"], 4, "published_at"):
        history.add(
            "content.published",
            item["published_at"],
            {"content_id": item["id"], "channels": [item["channel"]]},
            "api",
            "write",
        )
    active = [sequence for sequence in records["sequence"] if sequence["active"]] or records["sequence"]
    for _ in range(5):
        sequence = seeding.rng.choice(active)
        sent_at = max(seeding.ago(0, 14), parse_iso(sequence["created_at"]))
        history.add(
            "outreach.sent",
            sent_at,
            {
                "sequence_id": sequence["id"],
                "channel": sequence["channel"],
                "step": seeding.rng.randint(1, sequence["steps"]),
                "message_id": seeding.ids.prefixed("msg"),
            },
            "cron",
        )
    for suppression in _newest(records["suppression"], 3, "added_at"):
        source = SUPPRESSION_SOURCES[suppression["source"]]
        history.add(
            "suppression.added",
            suppression["added_at"],
            {
                "suppression_id": suppression["id"],
                "channel": suppression["channel"],
                "reason": suppression["reason"],
            },
            source,
            "write" if source == "api" else None,
        )


def build_history(seeding: Seeding, location: Location, records: Records) -> list[dict[str, Any]]:
    """About fifty audit events for a child location, consistent with its records."""
    history = History(seeding, location)
    for grant in records["grant"]:
        history.add(
            "grant.created",
            grant["created_at"],
            {"grant_id": grant["id"], "scopes": grant["scopes"]},
            "api",
            "admin",
        )
    _lead_events(history, records["lead"])
    _operations_events(history, records)
    _marketing_events(history, records)
    return history.events


def build_network_history(seeding: Seeding, parent: Location, children: list[Location]) -> list[dict[str, Any]]:
    """The parent's events: it created each child location."""
    history = History(seeding, parent)
    for child in children:
        history.add(
            "organization.created",
            child.organization["created_at"],
            {"child_organization_id": child.id},
            "api",
            "admin",
        )
    return history.events
