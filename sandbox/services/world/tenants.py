"""Organizations: a parent franchise network, its child locations, their API keys and grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ...base.clock import isoformat
from . import catalogue
from .seeding import Location, Seeding

BRAND = "PuroClean"
KEY_ROLES = (
    ("read-only", ["read"]),
    ("read-write", ["read", "write"]),
    ("admin", ["read", "write", "admin"]),
)
GRANT_SCOPES = ["leads.read", "calls.read", "audit_log.read"]
CHILD_COUNT = 3


def short_name(name: str) -> str:
    """``PuroClean of West Cobb`` → ``West Cobb``; ``PuroClean Southeast Network`` → ``Southeast Network``."""
    return name.removeprefix(f"{BRAND} of ").removeprefix(f"{BRAND} ")


def service_area(area: dict[str, Any]) -> dict[str, Any]:
    """The organization's ``service_area``: primary city, region, every postal code covered."""
    codes = sorted({code for codes in area["cities"].values() for code in codes})
    return {"city": next(iter(area["cities"])), "region": "GA", "postal_codes": codes}


def _organization(
    seeding: Seeding, name: str, area: dict[str, Any], parent_id: str | None, age_days: tuple[int, int]
) -> dict[str, Any]:
    rng, org_id = seeding.rng, seeding.ids.uuid()
    created = seeding.ago(*age_days)
    return {
        "id": org_id,
        "organization_id": org_id,
        "name": name,
        "industry": "restoration",
        "parent_organization_id": parent_id,
        "settings": {
            "timezone": "America/New_York",
            "default_locale": "en-US",
            "integrations": {
                "callrail": rng.random() < 0.9,
                "jobnimbus": rng.random() < 0.85,
                "companycam": rng.random() < 0.7,
            },
        },
        "service_area": service_area(area),
        "created_at": isoformat(created),
        "updated_at": isoformat(seeding.after(created, 3600, 60 * 86_400)),
    }


def _keys(seeding: Seeding, organization: dict[str, Any]) -> list[dict[str, Any]]:
    ids, label = seeding.ids, short_name(organization["name"])
    return [
        {
            "id": "k" + ids.uuid()[1:],
            "organization_id": organization["id"],
            "token": "eal_test_" + ids.prefixed("k", 32)[2:],
            "scopes": list(scopes),
            "label": f"{label} · {role}",
            "created_at": organization["created_at"],
        }
        for role, scopes in KEY_ROLES
    ]


def _network_area(children: list[dict[str, Any]]) -> dict[str, Any]:
    cities: dict[str, list[str]] = {"Atlanta": []}
    for area in children:
        for city, codes in area["cities"].items():
            cities.setdefault(city, []).extend(codes)
    return {
        "name": "Atlanta Metro",
        "cities": cities,
        "places": [place for area in children for place in area["places"]],
    }


def build_locations(seeding: Seeding) -> tuple[Location, list[Location]]:
    """Create the parent network and its child locations, each with three keys."""
    areas = seeding.sample(catalogue.areas(), CHILD_COUNT)
    network = _network_area(areas)
    parent_record = _organization(seeding, seeding.rng.choice(catalogue.networks()), network, None, (450, 600))
    parent = Location(parent_record, network, _keys(seeding, parent_record))
    children = []
    for area in areas:
        record = _organization(seeding, f"{BRAND} of {area['name']}", area, parent.id, (150, 420))
        children.append(Location(record, area, _keys(seeding, record)))
    return parent, children


def build_grant(seeding: Seeding, child: Location) -> dict[str, Any]:
    """The child's live grant of read scopes to its parent, valid for a year."""
    grant_id, created = seeding.ids.uuid(), seeding.ago(20, 120)
    return {
        "id": grant_id,
        "grant_id": grant_id,
        "organization_id": child.id,
        "parent_organization_id": child.organization["parent_organization_id"],
        "scopes": list(GRANT_SCOPES),
        "created_at": isoformat(created),
        "expires_at": isoformat(created + timedelta(days=365)),
    }
