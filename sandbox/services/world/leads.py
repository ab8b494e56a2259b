"""Inbound leads: contact details, pipeline stage and AI-qualification fields that agree."""

from __future__ import annotations

import random
from typing import Any

from ...base.clock import isoformat
from . import catalogue
from .pools import email_for, phone_number
from .seeding import Location, Seeding, Weights

SOURCES = Weights(
    {
        "website": 22,
        "google_ads": 18,
        "lsa": 12,
        "referral": 10,
        "phone": 10,
        "facebook": 6,
        "yelp": 4,
        "callrail": 14,
        "manual": 4,
    }
)
STAGES = Weights({"new": 18, "contacted": 22, "qualified": 20, "proposal": 12, "won": 15, "lost": 13})
STAGE_ORDER = ("new", "contacted", "qualified", "proposal", "won")
STAGE_SCORES = {
    "new": (10, 45),
    "contacted": (25, 60),
    "qualified": (55, 85),
    "proposal": (60, 88),
    "won": (72, 96),
    "lost": (5, 40),
}
TIMELINE_BONUS = {"emergency": 12, "this_week": 6, "this_month": 0, "this_quarter": -6, "exploring": -10}
INDUSTRIES = Weights({"residential": 55, "": 10, "commercial": 12, "property_management": 12, "hoa": 6, "insurance": 5})
LOSSES = Weights({"water": 50, "storm": 12, "mold": 18, "fire": 12, "biohazard": 8})
TIMELINES = {
    loss: Weights(weights)
    for loss, weights in {
        "water": {"emergency": 50, "this_week": 30, "this_month": 12, "exploring": 8},
        "storm": {"emergency": 40, "this_week": 35, "this_month": 15, "this_quarter": 10},
        "fire": {"emergency": 55, "this_week": 30, "this_month": 15},
        "biohazard": {"emergency": 70, "this_week": 30},
        "mold": {"this_week": 30, "this_month": 35, "this_quarter": 20, "exploring": 15},
    }.items()
}
COMPANY_SIZES = Weights({"1-10": 30, "11-50": 30, "51-200": 20, "201-500": 12, "500+": 8})
HOME_BUDGETS = Weights({"": 45, "under_5k": 25, "5k_15k": 20, "15k_50k": 10})
COMMERCIAL_BUDGETS = Weights({"": 20, "5k_15k": 30, "15k_50k": 35, "50k_plus": 15})
EXTRA_SIGNALS = (
    "in-radius",
    "phone validated",
    "insurance claim likely",
    "repeat referral source",
    "fast form completion",
    "photos attached",
)


def lead_score(rng: random.Random, stage: str, timeline: str) -> int:
    """A score consistent with how far the lead got and how soon it needs work."""
    low, high = STAGE_SCORES[stage]
    return max(0, min(100, rng.randint(low, high) + TIMELINE_BONUS[timeline]))


def _reasoning(seeding: Seeding, loss: str, timeline: str, commercial: bool) -> str:
    wording, rng = catalogue.people(), seeding.rng
    extras = rng.sample(EXTRA_SIGNALS, 2 if rng.random() < 0.5 else 1)
    if commercial:
        extras.append("commercial account")
    signals = [wording["reasoning"][loss], *extras]
    return f"{wording['urgency_words'][timeline]}: {', '.join(signals)}"


def _company_fields(seeding: Seeding, industry: str) -> dict[str, Any]:
    if industry in ("", "residential"):
        budget = seeding.pick(HOME_BUDGETS)
        return {"company": None, "company_size": None, "budget_range": budget or None}
    budget = seeding.pick(COMMERCIAL_BUDGETS)
    return {
        "company": seeding.pools.company(seeding.rng),
        "company_size": seeding.pick(COMPANY_SIZES),
        "budget_range": budget or None,
    }


def _timestamps(seeding: Seeding, stage: str) -> dict[str, Any]:
    rng = seeding.rng
    created = seeding.ago(0, 90) if rng.random() < 0.88 else seeding.ago(90, 180)
    if stage == "new":
        stamp = isoformat(created)
        return {"qualification_completed_at": None, "created_at": stamp, "updated_at": stamp}
    qualified = seeding.after(created, 2, 30)
    updated = seeding.after(qualified, 600, 21 * 86_400)
    return {
        "qualification_completed_at": isoformat(qualified),
        "created_at": isoformat(created),
        "updated_at": isoformat(updated),
    }


def build_lead(seeding: Seeding, location: Location) -> dict[str, Any]:
    """One lead whose score, stage, timeline and pain points tell the same story."""
    rng = seeding.rng
    first, last = seeding.pools.person(rng)
    stage, loss, industry = seeding.pick(STAGES), seeding.pick(LOSSES), seeding.pick(INDUSTRIES)
    timeline = seeding.pick(TIMELINES[loss])
    company = _company_fields(seeding, industry)
    lead = {
        "id": seeding.ids.uuid(),
        "organization_id": location.id,
        "name": f"{first} {last}",
        "company": company["company"],
        "email": email_for(rng, first, last),
        "phone": phone_number(rng),
        "source": seeding.pick(SOURCES),
        "lead_score": lead_score(rng, stage, timeline),
        "pipeline_stage": stage,
        "industry": industry or None,
        "company_size": company["company_size"],
        "pain_points": rng.choice(catalogue.people()["pain_points"][loss]),
        "timeline": timeline,
        "budget_range": company["budget_range"],
        "ai_reasoning": _reasoning(seeding, loss, timeline, company["company"] is not None),
        **_timestamps(seeding, stage),
        "crm_sync": None,
    }
    if stage == "won" and rng.random() < 0.7:
        lead["crm_sync"] = {
            "vendor": "jobnimbus",
            "external_id": seeding.ids.crm_external_id(),
            "status": "ok",
            "last_synced_at": lead["updated_at"],
        }
    return lead


def previous_stage(stage: str) -> str:
    """The stage a lead most plausibly held before ``stage``."""
    if stage == "lost":
        return "contacted"
    return STAGE_ORDER[max(0, STAGE_ORDER.index(stage) - 1)]


def build_leads(seeding: Seeding, location: Location, count: int) -> list[dict[str, Any]]:
    """``count`` leads for one location."""
    return [build_lead(seeding, location) for _ in range(count)]
