"""Inbound calls: transcript, AI classification and the dispatch decision that follows from it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...base.clock import isoformat, parse_iso
from .pools import phone_number
from .scripts import DAMAGE_KINDS, intent_for, transcript_for
from .seeding import Location, Seeding, local_hour

CLASSIFICATIONS = {"water": 38, "fire": 8, "mold": 12, "biohazard": 3, "sales": 17, "junk": 22}
URGENCIES = {
    "water": {"high": 75, "medium": 25},
    "fire": {"high": 80, "medium": 20},
    "biohazard": {"high": 90, "medium": 10},
    "mold": {"medium": 60, "low": 40},
}
DURATIONS = {
    "completed": (90, 420),
    "sales_pitch": (35, 180),
    "wrong_number": (8, 45),
    "other": (15, 90),
    "voicemail": (20, 75),
    "missed": (0, 6),
}
NO_ACTION_REASONS = {
    "sales_pitch": "sales_pitch_filtered",
    "wrong_number": "wrong_number",
    "other": "not_a_service_request",
}
RECENT_DAYS, HISTORY_DAYS = 7, 90


def tracking_numbers(seeding: Seeding) -> tuple[str, ...]:
    """A location's CallRail tracking numbers (website, Google LSA)."""
    return tuple(phone_number(seeding.rng, ("770", "404")) for _ in range(2))


def _status(seeding: Seeding, intent: str) -> str:
    roll = seeding.rng.random()
    if intent in DAMAGE_KINDS or intent == "sales_pitch":
        return "voicemail" if roll < 0.1 else "completed"
    return "missed" if roll < 0.2 else "completed"


def _duration(seeding: Seeding, intent: str, status: str) -> int:
    key = status if status != "completed" or intent in DAMAGE_KINDS else intent
    return seeding.rng.randint(*DURATIONS[key])


def _verdict(seeding: Seeding, intent: str, status: str) -> dict[str, Any]:
    rng = seeding.rng
    if intent not in DAMAGE_KINDS:
        return {
            "urgency": "low",
            "confidence": round(rng.uniform(0.7, 0.99), 2),
            "qualified": False,
            "in_radius": False,
        }
    confidence = round(rng.uniform(0.82, 0.99) if rng.random() < 0.85 else rng.uniform(0.55, 0.8), 2)
    in_radius = rng.random() < 0.9
    return {
        "urgency": seeding.pick(URGENCIES[intent]),
        "confidence": confidence,
        "qualified": in_radius and confidence >= 0.7 and status != "missed",
        "in_radius": in_radius,
    }


def dispatch_decision(seeding: Seeding, intent: str, verdict: dict[str, Any], received: datetime) -> dict[str, Any]:
    """What the dispatcher did: send a crew, book a callback, ask the owner, or nothing."""
    weekday, hour = local_hour(received)
    business = weekday < 5 and 8 <= hour < 18
    decision = {
        "action": "no_action",
        "reason": NO_ACTION_REASONS.get(intent, ""),
        "sms_callback_sent": False,
        "job_created_in_jobnimbus": None,
    }
    if intent not in DAMAGE_KINDS:
        return decision
    if not verdict["qualified"]:
        reason = "outside_service_radius" if not verdict["in_radius"] else "low_confidence_classification"
        return {**decision, "action": "owner_review", "reason": reason}
    if business or verdict["urgency"] == "high":
        when = "business_hours" if business else "after_hours_emergency"
        return {
            **decision,
            "action": "auto_dispatch",
            "reason": f"in_service_radius + qualified + {when}",
            "sms_callback_sent": True,
            "job_created_in_jobnimbus": seeding.ids.crm_external_id(),
        }
    return {
        **decision,
        "action": "callback_scheduled",
        "reason": "in_service_radius + qualified + after_hours",
        "sms_callback_sent": True,
    }


def build_call(seeding: Seeding, location: Location, received: datetime, numbers: tuple[str, ...]) -> dict[str, Any]:
    """One call received at ``received``, its transcript matching its classification.

    A missed call (the caller hung up before the agent answered) has no transcript.
    """
    rng = seeding.rng
    classification = seeding.pick(CLASSIFICATIONS)
    intent = intent_for(rng, classification)
    status = _status(seeding, intent)
    if status == "missed":  # nobody heard the caller, so nothing finer than "other" is known
        intent = "other"
    verdict = _verdict(seeding, intent, status)
    slots = {
        "location": location.name,
        "caller": rng.choice(seeding.pools.first_names),
        "street": seeding.pools.street_address(rng),
        "city": rng.choice(location.cities()),
    }
    stamp = isoformat(received)
    return {
        "id": seeding.ids.prefixed("call"),
        "organization_id": location.id,
        "tracking_number": rng.choice(numbers),
        "caller_number": phone_number(rng),
        "duration_seconds": _duration(seeding, intent, status),
        "status": status,
        "classification": classification,
        "intent": intent,
        "qualified": verdict["qualified"],
        "urgency": verdict["urgency"],
        "confidence": verdict["confidence"],
        "dispatch_decision": dispatch_decision(seeding, intent, verdict, received),
        "transcript": None
        if status == "missed"
        else transcript_for(rng, intent, voicemail=status == "voicemail", slots=slots),
        "classification_seconds": round(rng.triangular(4, 30, 9)),
        "received_at": stamp,
        "created_at": stamp,
    }


def build_calls(seeding: Seeding, location: Location) -> list[dict[str, Any]]:
    """A few hundred calls over 90 days, denser in the last week."""
    rng, numbers = seeding.rng, tracking_numbers(seeding)
    instants = [seeding.working_hours_ago(0, RECENT_DAYS - 1) for _ in range(rng.randint(45, 75))]
    instants += [seeding.working_hours_ago(RECENT_DAYS, HISTORY_DAYS - 1) for _ in range(rng.randint(200, 300))]
    return [build_call(seeding, location, received, numbers) for received in sorted(instants)]


def classified_at(call: dict[str, Any], seeding: Seeding) -> datetime:
    """When the classifier finished with ``call``."""
    received = parse_iso(call["received_at"])
    return min(received + timedelta(seconds=call["classification_seconds"]), seeding.anchor)
