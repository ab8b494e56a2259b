"""Outreach sequences with plausible funnel stats, and the suppression list."""

from __future__ import annotations

from typing import Any

from ...base.clock import isoformat
from . import catalogue
from .pools import email_for, phone_number
from .seeding import Location, Seeding

EMAIL_SUPPRESSIONS = (
    ("user_unsubscribe", "list-unsubscribe-header"),
    ("hard_bounce", "resend-bounce-webhook"),
    ("spam_complaint", "resend-bounce-webhook"),
    ("manual_owner_request", "manual"),
    ("manual_owner_request", "api"),
)
SMS_SUPPRESSIONS = (
    ("stop_keyword", "sms-stop-keyword"),
    ("stop_keyword", "sms-stop-keyword"),
    ("manual_owner_request", "manual"),
    ("manual_owner_request", "api"),
)


def sequence_stats(seeding: Seeding, channel: str, steps: int) -> dict[str, int]:
    """Funnel counts where opened ≤ sent, replied ≤ opened and sent < enrolled × steps."""
    rng = seeding.rng
    enrolled = rng.randint(40, 260)
    sent = int(enrolled * steps * rng.uniform(0.55, 0.9))
    opened = int(sent * (rng.uniform(0.85, 0.97) if channel == "sms" else rng.uniform(0.3, 0.5)))
    replied = int(opened * rng.uniform(0.03, 0.12))
    opted_out = int(enrolled * (rng.uniform(0.02, 0.06) if channel == "sms" else rng.uniform(0.005, 0.03)))
    return {"enrolled": enrolled, "sent": sent, "opened": opened, "replied": replied, "opted_out": opted_out}


def build_sequences(seeding: Seeding, location: Location) -> list[dict[str, Any]]:
    """Four sequences named for the quarter they started in."""
    sequences = []
    for plan in seeding.sample(catalogue.content()["sequences"], 4):
        created = seeding.ago(10, 160)
        quarter = f"Q{(created.month - 1) // 3 + 1} {created.year}"
        sequences.append(
            {
                "id": seeding.ids.prefixed("seq"),
                "organization_id": location.id,
                "name": f"{plan['name']} · {quarter}",
                "channel": plan["channel"],
                "steps": plan["steps"],
                "active": seeding.rng.random() < 0.75,
                "stats": sequence_stats(seeding, plan["channel"], plan["steps"]),
                "created_at": isoformat(created),
                "updated_at": isoformat(seeding.after(created, 3600, 9 * 86_400)),
            }
        )
    return sequences


def _address(seeding: Seeding, channel: str, leads: list[dict[str, Any]]) -> str:
    rng = seeding.rng
    if leads and rng.random() < 0.5:
        return str(rng.choice(leads)["email" if channel == "email" else "phone"])
    if channel == "sms":
        return phone_number(rng)
    return email_for(rng, *seeding.pools.person(rng))


def build_suppressions(seeding: Seeding, location: Location, leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """About ten blocked addresses and numbers, half of them former leads, none listed twice."""
    rng, seen = seeding.rng, set()
    suppressions: list[dict[str, Any]] = []
    count = rng.randint(8, 12)
    while len(suppressions) < count:
        channel = "email" if rng.random() < 0.6 else "sms"
        address = _address(seeding, channel, leads)
        if (channel, address) in seen:
            continue
        seen.add((channel, address))
        reason, source = rng.choice(EMAIL_SUPPRESSIONS if channel == "email" else SMS_SUPPRESSIONS)
        added = isoformat(seeding.ago(0.5, 120))
        suppressions.append(
            {
                "id": seeding.ids.prefixed("sup"),
                "organization_id": location.id,
                "channel": channel,
                "address": address,
                "reason": reason,
                "source": source,
                "added_at": added,
                "created_at": added,
            }
        )
    return suppressions
