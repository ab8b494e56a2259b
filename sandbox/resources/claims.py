"""Claim documentation runs: async scope extraction, signed summaries and the human review.

A new claim is ``extracting``; ``CLAIM_EXTRACTION_SECONDS`` later a clock task (or the first read
after that instant, whichever comes first) fills in rooms and scope items, sets
``ready_for_review``, audits ``claim.scope.ready`` as the worker and emits the webhook.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from ..base.clock import isoformat, parse_iso
from ..base.errors import Conflict, ValidationFailed, field_error
from ..services.bundle import SandboxServices
from ..services.world import extract_claim_scope
from .lookups import find, project
from .pagination import list_page
from .request import ApiRequest, Reply

SUMMARY_FIELDS = ("id", "job_external_ref", "loss_type", "status", "scope_item_count", "photo_count", "created_at")
DETAIL_FIELDS = (
    "id",
    "job_external_ref",
    "loss_type",
    "status",
    "source",
    "photo_count",
    "scope_item_count",
    "estimated_ready_at",
    "ready_at",
    "decisions_recorded",
    "reviewed_at",
    "created_at",
    "updated_at",
)
summary = project(SUMMARY_FIELDS, shared=True)
EXTRACTION_TASK = "claim.extraction"  # the clock task that finishes an extraction (composition runs it)


def detail(claim: dict[str, Any], sandbox: SandboxServices, base_url: str) -> dict[str, Any]:
    """Rooms with dimensions and scope items, plus signed summary URLs once extraction is done."""
    view = {name: claim.get(name) for name in DETAIL_FIELDS}
    ready = claim["status"] != "extracting"
    path = f"/_sandbox/claims/{claim['id']}/summary"
    view["rooms"] = copy.deepcopy(claim["rooms"]) if ready else []
    view["summary_pdf_url"] = sandbox.signed_urls.sign(base_url, f"{path}.pdf") if ready else None
    view["summary_txt_url"] = sandbox.signed_urls.sign(base_url, f"{path}.txt") if ready else None
    return view


def complete_extraction(sandbox: SandboxServices, org_id: str, claim_id: str) -> dict[str, Any] | None:
    """Finish a claim's extraction once; later calls change nothing and emit nothing."""
    with sandbox.store.transaction():
        claim = sandbox.store.get("claim", org_id, claim_id)
        if claim is None or claim["status"] != "extracting":
            return claim
        rooms = extract_claim_scope(sandbox.rng("claim", claim_id, "scope"), claim["loss_type"])
        count = sum(len(room["scope_items"]) for room in rooms)
        claim = sandbox.store.update(
            "claim",
            org_id,
            claim_id,
            {
                "status": "ready_for_review",
                "rooms": rooms,
                "scope_item_count": count,
                "ready_at": claim["estimated_ready_at"],
                "updated_at": isoformat(sandbox.clock.now()),
            },
        )
        assert claim is not None
        sandbox.audit.record(
            org_id,
            "claim.scope.ready",
            {"claim_id": claim_id, "scope_item_count": count},
            source="worker",
            correlation_id=claim.get("_correlation_id"),
        )
        sandbox.webhooks.emit(org_id, "claim.scope.ready", detail(claim, sandbox, claim.get("_base_url", "")))
    return claim


def settled(request: ApiRequest, claim: dict[str, Any]) -> dict[str, Any]:
    """The claim, finished first if it is past its ready time but the task has not run yet."""
    if claim["status"] == "extracting" and request.sandbox.clock.now() >= parse_iso(claim["estimated_ready_at"]):
        return complete_extraction(request.sandbox, request.org_id, claim["id"]) or claim
    return claim


def list_claims(request: ApiRequest) -> dict[str, Any]:
    """Page through the organization's extraction runs, newest first."""
    return list_page(request, "claim", view=lambda claim: summary(settled(request, claim)))


def get_claim(request: ApiRequest) -> dict[str, Any]:
    """The claim with its rooms, scope items and signed summary URLs."""
    return detail(settled(request, find(request, "claim", request.path["id"])), request.sandbox, request.base_url)


def create_claim(request: ApiRequest) -> Reply:
    """Start an extraction run; it is ready for review ``CLAIM_EXTRACTION_SECONDS`` later."""
    sandbox, now, org_id = request.sandbox, request.sandbox.clock.now(), request.org_id
    claim_id = sandbox.ids.prefixed("clm")
    ready_at = now + timedelta(seconds=sandbox.settings.CLAIM_EXTRACTION_SECONDS)
    claim = {
        "id": claim_id,
        "organization_id": org_id,
        "status": "extracting",
        "loss_type": request.body["loss_type"],
        "job_external_ref": request.body.get("job_external_ref"),
        "source": request.body.get("source"),
        "photo_count": sandbox.rng("claim", claim_id).randint(12, 80),
        "rooms": [],
        "scope_item_count": 0,
        "estimated_ready_at": isoformat(ready_at),
        "ready_at": None,
        "decisions_recorded": 0,
        "reviewed_at": None,
        "created_at": isoformat(now),
        "updated_at": isoformat(now),
        "_correlation_id": request.correlation_id,
        "_base_url": request.base_url,
    }
    with sandbox.store.transaction():
        sandbox.store.insert("claim", claim)
        request.audit("claim.created", {"claim_id": claim_id, "loss_type": claim["loss_type"]})
    sandbox.clock.call_at(ready_at, EXTRACTION_TASK, {"org_id": org_id, "claim_id": claim_id})
    body = {name: claim[name] for name in ("id", "status", "estimated_ready_at", "created_at")}
    return Reply(body, 202)


def _checked(decisions: list[dict[str, Any]], items: dict[str, dict[str, Any]]) -> None:
    """Refuse scope items the claim does not have, or that are decided twice."""
    errors, seen = [], set()
    for index, decision in enumerate(decisions):
        where = f"body.decisions[{index}]"
        item_id = decision["scope_item_id"]
        if item_id not in items:
            errors.append(field_error(f"{where}.scope_item_id", f"no scope item '{item_id}' on this claim", "exists"))
        elif item_id in seen:
            errors.append(field_error(f"{where}.scope_item_id", f"'{item_id}' is decided twice", "unique"))
        seen.add(item_id)
    if errors:
        raise ValidationFailed(errors)


def _decided(item: dict[str, Any], decision: dict[str, Any], at: str) -> None:
    """Write one reviewer decision onto its scope item, replacing any earlier one."""
    item.pop("note", None)
    item.pop("reason", None)
    item.update(decision=decision["decision"], decided_at=at)
    if decision["decision"] == "edit" and "qty" in decision:
        item.setdefault("original_qty", item["qty"])
        item["qty"] = decision["qty"]
    for name in ("note", "reason"):
        if name in decision:
            item[name] = decision[name]


def review_claim(request: ApiRequest) -> dict[str, Any]:
    """Record approve / edit / reject per scope item and mark the claim reviewed."""
    sandbox, decisions, now = request.sandbox, request.body["decisions"], request.now_iso()
    with sandbox.store.transaction():
        claim = settled(request, find(request, "claim", request.path["id"]))
        if claim["status"] == "extracting":
            raise Conflict(
                "Claim is still extracting; review it once it is ready_for_review",
                details={"estimated_ready_at": claim["estimated_ready_at"]},
            )
        rooms = copy.deepcopy(claim["rooms"])
        items = {item["id"]: item for room in rooms for item in room["scope_items"]}
        _checked(decisions, items)
        for decision in decisions:
            _decided(items[decision["scope_item_id"]], decision, now)
        reviewed = sandbox.store.update(
            "claim",
            request.org_id,
            claim["id"],
            {
                "rooms": rooms,
                "status": "reviewed",
                "decisions_recorded": len(decisions),
                "reviewed_at": now,
                "updated_at": now,
            },
        )
        assert reviewed is not None
        request.audit("claim.reviewed", {"claim_id": reviewed["id"], "decisions": decisions})
    return {name: reviewed[name] for name in ("id", "status", "decisions_recorded", "reviewed_at")}
