"""Inbound leads: list, read, create, patch, re-score and push to the CRM (never really)."""

from __future__ import annotations

from typing import Any

from .lead_scoring import score
from .lookups import find, matching, project
from .pagination import list_page
from .request import ApiRequest, Reply

SUMMARY_FIELDS = (
    "id",
    "organization_id",
    "name",
    "company",
    "email",
    "source",
    "lead_score",
    "pipeline_stage",
    "industry",
    "company_size",
    "created_at",
    "updated_at",
)
AI_FIELDS = ("pain_points", "timeline", "budget_range", "ai_reasoning", "qualification_completed_at")
summary = project(SUMMARY_FIELDS, shared=True)
detail = project((*SUMMARY_FIELDS[:-2], *AI_FIELDS, "phone", "crm_sync", "created_at", "updated_at"))


def list_leads(request: ApiRequest) -> dict[str, Any]:
    """Page through the organization's leads, newest first."""
    where = matching(request, ("pipeline_stage", "source"))
    return list_page(request, "lead", where=where, view=summary)


def get_lead(request: ApiRequest) -> dict[str, Any]:
    """The full lead, AI-qualification fields included."""
    return detail(find(request, "lead", request.path["id"]))


def create_lead(request: ApiRequest) -> Reply:
    """Store a new lead, audit it and emit ``lead.created``."""
    sandbox, now = request.sandbox, request.now_iso()
    lead: dict[str, Any] = {name: None for name in (*SUMMARY_FIELDS, *AI_FIELDS, "phone", "crm_sync")}
    lead.update(source="manual", lead_score=0, pipeline_stage="new")
    lead.update(request.body)
    lead.update(id=sandbox.ids.uuid(), organization_id=request.org_id, created_at=now, updated_at=now)
    with sandbox.store.transaction():
        sandbox.store.insert("lead", lead)
        request.audit("lead.created", {"lead_id": lead["id"]})
        sandbox.webhooks.emit(request.org_id, "lead.created", summary(lead))  # in one step with the lead
    return Reply(detail(lead), 201)


def update_lead(request: ApiRequest) -> dict[str, Any]:
    """Apply whitelisted fields; audit ``lead.updated`` with a per-field from/to diff."""
    return detail(apply_changes(request, request.path["id"], request.body))


def apply_changes(
    request: ApiRequest, lead_id: str, changes: dict[str, Any], action: str = "lead.updated"
) -> dict[str, Any]:
    """Change a lead atomically; record and emit the diff if anything changed."""
    sandbox = request.sandbox
    with sandbox.store.transaction():
        current = find(request, "lead", lead_id)
        diff = {
            name: {"from": current.get(name), "to": value}
            for name, value in changes.items()
            if current.get(name) != value
        }
        if not diff:
            return current
        lead = sandbox.store.update("lead", request.org_id, lead_id, {**changes, "updated_at": request.now_iso()})
        assert lead is not None
        request.audit(action, {"lead_id": lead_id, "diff": diff})
        sandbox.webhooks.emit(request.org_id, "lead.updated", {"lead": summary(lead), "diff": diff})
    return lead


def score_lead(request: ApiRequest) -> dict[str, Any]:
    """Re-score from the lead's own signals; the reasoning names each one."""
    lead = find(request, "lead", request.path["id"])
    new_score, reasoning = score(lead)
    lead = apply_changes(request, lead["id"], {"lead_score": new_score, "ai_reasoning": reasoning})
    return {
        "id": lead["id"],
        "lead_score": lead["lead_score"],
        "ai_reasoning": lead["ai_reasoning"],
        "scored_at": request.now_iso(),
    }


def push_lead_to_crm(request: ApiRequest) -> dict[str, Any]:
    """Record a CRM sync; re-pushing returns the same external_id (no CRM is called)."""
    sandbox = request.sandbox
    with sandbox.store.transaction():
        lead = find(request, "lead", request.path["id"])
        sync = lead.get("crm_sync")
        if not sync:
            sync = {
                "vendor": "jobnimbus",
                "external_id": sandbox.ids.crm_external_id(),
                "status": "ok",
                "last_synced_at": request.now_iso(),
            }
            sandbox.store.update("lead", request.org_id, lead["id"], {"crm_sync": sync})
            request.audit("lead.crm_pushed", {"lead_id": lead["id"], "external_id": sync["external_id"]})
    return {"id": lead["id"], "crm_sync": sync}
