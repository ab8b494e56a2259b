"""Outbound prospects with the enrichment their qualification verdict is read from."""

from __future__ import annotations

from typing import Any

from ...base.clock import isoformat
from . import catalogue
from .fit import assess
from .pools import email_for
from .seeding import Location, Seeding

VERTICALS = {
    "property_management": 30,
    "hoa": 15,
    "commercial_real_estate": 15,
    "insurance_agency": 12,
    "plumbing": 12,
    "hospitality": 8,
    "healthcare": 8,
}
# (buildings low, high), (units per building low, high)
PORTFOLIOS = {
    "property_management": ((5, 60), (8, 40)),
    "hoa": ((1, 12), (20, 60)),
    "commercial_real_estate": ((2, 25), (4, 30)),
    "insurance_agency": ((0, 0), (0, 0)),
    "plumbing": ((0, 0), (0, 0)),
    "hospitality": ((1, 4), (60, 180)),
    "healthcare": ((1, 6), (0, 40)),
}
QUALIFIED_OUTREACH = {
    "sequence_active": 45,
    "replied": 20,
    "completed": 20,
    "opted_out": 10,
    "not_started": 5,
}


def _company_name(seeding: Seeding, location: Location, vertical: str, last: str) -> str:
    pattern = seeding.rng.choice(catalogue.people()["prospect_names"][vertical])
    place = seeding.rng.choice(location.area["places"] + location.cities())
    return str(pattern.format(place=place, last=last))


def _enrichment(seeding: Seeding, vertical: str) -> dict[str, Any]:
    rng = seeding.rng
    (b_low, b_high), (u_low, u_high) = PORTFOLIOS[vertical]
    buildings = rng.randint(b_low, b_high)
    return {
        "buildings_managed": buildings,
        "units": buildings * rng.randint(u_low, u_high),
        "in_service_radius": rng.random() < 0.8,
        "incumbent_vendor": rng.choice(catalogue.people()["incumbents"]) if rng.random() < 0.4 else None,
        "recent_water_loss": rng.random() < 0.25,
    }


def _statuses(seeding: Seeding, prospect: dict[str, Any]) -> dict[str, str]:
    if seeding.rng.random() < 0.2:
        return {"qualification_status": "pending", "outreach_status": "not_started"}
    qualified, _score, _rationale = assess(prospect)
    if qualified:
        return {"qualification_status": "qualified", "outreach_status": seeding.pick(QUALIFIED_OUTREACH)}
    outreach = "opted_out" if seeding.rng.random() < 0.1 else "not_started"
    return {"qualification_status": "disqualified", "outreach_status": outreach}


def build_prospect(seeding: Seeding, location: Location) -> dict[str, Any]:
    """One prospect whose qualification status matches its enrichment."""
    rng = seeding.rng
    first, last = seeding.pools.person(rng)
    vertical = seeding.pick(VERTICALS)
    prospect = {
        "id": seeding.ids.uuid(),
        "organization_id": location.id,
        "company_name": _company_name(seeding, location, vertical, last),
        "contact_name": f"{first} {last}",
        "contact_email": email_for(rng, first, last, short=True),
        "vertical": vertical,
        **_enrichment(seeding, vertical),
        "created_at": isoformat(seeding.ago(1, 120)),
    }
    return {**prospect, **_statuses(seeding, prospect)}


def build_prospects(seeding: Seeding, location: Location) -> list[dict[str, Any]]:
    """About forty prospects for one location."""
    return [build_prospect(seeding, location) for _ in range(seeding.rng.randint(36, 44))]
