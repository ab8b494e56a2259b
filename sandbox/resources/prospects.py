"""Outbound prospects: list them and run the (deterministic) AI qualification agent."""

from __future__ import annotations

from typing import Any

from ..services.world.fit import assess
from .lookups import find, matching, project
from .pagination import list_page
from .request import ApiRequest

SUMMARY_FIELDS = (
    "id",
    "company_name",
    "contact_name",
    "contact_email",
    "vertical",
    "qualification_status",
    "outreach_status",
    "created_at",
)
summary = project(SUMMARY_FIELDS, shared=True)


def list_prospects(request: ApiRequest) -> dict[str, Any]:
    """Page through the organization's prospects, newest first."""
    where = matching(request, ("qualification_status", "vertical", "outreach_status"))
    return list_page(request, "prospect", where=where, view=summary)


def qualify_prospect(request: ApiRequest) -> dict[str, Any]:
    """Score the prospect from its own data, store the verdict and audit it."""
    sandbox, now = request.sandbox, request.now_iso()
    prospect_id = request.body["prospect_id"]
    with sandbox.store.transaction():
        prospect = find(request, "prospect", prospect_id)
        qualified, fit_score, rationale = assess(prospect)
        status = "qualified" if qualified else "disqualified"
        sandbox.store.update(
            "prospect",
            request.org_id,
            prospect_id,
            {
                "qualification_status": status,
                "fit_score": fit_score,
                "rationale": rationale,
                "qualified_at": now,
                "updated_at": now,
            },
        )
        request.audit(
            "prospect.qualified",
            {
                "prospect_id": prospect_id,
                "qualified": qualified,
                "fit_score": fit_score,
                "diff": {"qualification_status": {"from": prospect.get("qualification_status"), "to": status}},
            },
        )
    return {
        "prospect_id": prospect_id,
        "qualified": qualified,
        "fit_score": fit_score,
        "rationale": rationale,
        "qualified_at": now,
    }
