"""Claim documentation runs, mostly ready for review or already reviewed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...base.clock import isoformat, parse_iso
from .scope import extract_claim_scope, scope_item_count
from .seeding import Location, Seeding

LOSS_WEIGHTS = {"water": 60, "fire": 20, "mold": 20}
EXTRACTION_SECONDS = 300


def _dispatched_jobs(calls: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    jobs: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        if call["dispatch_decision"]["job_created_in_jobnimbus"] and call["classification"] in LOSS_WEIGHTS:
            jobs.setdefault(call["classification"], []).append(call)
    return jobs


def _review(seeding: Seeding, ready: datetime, rooms: list[dict[str, Any]]) -> dict[str, Any]:
    reviewed = seeding.after(ready, 2 * 3600, 3 * 86_400)
    if seeding.rng.random() < 0.4 and reviewed < seeding.anchor - timedelta(days=1):
        return {
            "status": "reviewed",
            "reviewed_at": isoformat(reviewed),
            "decisions_recorded": scope_item_count(rooms),
            "updated_at": isoformat(reviewed),
        }
    return {
        "status": "ready_for_review",
        "reviewed_at": None,
        "decisions_recorded": 0,
        "updated_at": isoformat(ready),
    }


def build_claim(seeding: Seeding, location: Location, loss_type: str, call: dict[str, Any] | None) -> dict[str, Any]:
    """One extraction run, tied to the job a dispatched call opened when there is one."""
    rng = seeding.rng
    if call is not None:
        created = seeding.after(parse_iso(call["received_at"]), 3600, 2 * 86_400)
        job_ref = call["dispatch_decision"]["job_created_in_jobnimbus"]
    else:
        created, job_ref = seeding.ago(1, 90), seeding.ids.crm_external_id()
    created = min(created, seeding.anchor - timedelta(seconds=EXTRACTION_SECONDS))
    rooms = extract_claim_scope(rng, loss_type)
    ready = created + timedelta(seconds=rng.randint(150, EXTRACTION_SECONDS))
    return {
        "id": seeding.ids.prefixed("clm"),
        "organization_id": location.id,
        "job_external_ref": job_ref,
        "loss_type": loss_type,
        "source": {"vendor": "companycam", "project_id": f"cc_proj_{rng.randint(1000, 9999)}"},
        "photo_count": rng.randint(12, 80),
        "rooms": rooms,
        "scope_item_count": scope_item_count(rooms),
        "estimated_ready_at": isoformat(created + timedelta(seconds=EXTRACTION_SECONDS)),
        "ready_at": isoformat(ready),
        "created_at": isoformat(created),
        **_review(seeding, ready, rooms),
    }


def build_claims(seeding: Seeding, location: Location, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """About fifteen claims, most opened from jobs the call dispatcher created."""
    jobs = _dispatched_jobs(calls)
    claims = []
    for _ in range(seeding.rng.randint(13, 17)):
        loss_type = seeding.pick(LOSS_WEIGHTS)
        candidates = jobs.get(loss_type, [])
        call = candidates.pop(seeding.rng.randrange(len(candidates))) if candidates else None
        claims.append(build_claim(seeding, location, loss_type, call))
    return claims
