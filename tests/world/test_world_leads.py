"""Leads and prospects: enums from the reference, and fields that tell one story."""

from __future__ import annotations

import re

from sandbox.services.world.fit import assess
from tests.world.seeded import Seeded

SOURCES = {"website", "google_ads", "lsa", "referral", "phone", "facebook", "yelp", "callrail", "manual"}
STAGES = {"new", "contacted", "qualified", "proposal", "won", "lost"}
INDUSTRIES = {"residential", "commercial", "property_management", "hoa", "insurance", None}
TIMELINES = {"emergency", "this_week", "this_month", "this_quarter", "exploring"}
LEAD_FIELDS = {
    "id",
    "organization_id",
    "name",
    "company",
    "email",
    "phone",
    "source",
    "lead_score",
    "pipeline_stage",
    "industry",
    "company_size",
    "pain_points",
    "timeline",
    "budget_range",
    "ai_reasoning",
    "qualification_completed_at",
    "created_at",
    "updated_at",
    "crm_sync",
}
LOSS_WORDS = (
    "water",
    "pipe",
    "leak",
    "flood",
    "fire",
    "smoke",
    "soot",
    "mold",
    "musty",
    "sewage",
    "death",
    "storm",
    "moisture",
)


def test_lead_fields_and_enums(seeded: Seeded) -> None:
    for lead in seeded.records("lead"):
        assert set(lead) == LEAD_FIELDS
        assert lead["source"] in SOURCES and lead["pipeline_stage"] in STAGES
        assert lead["industry"] in INDUSTRIES and lead["timeline"] in TIMELINES
        assert lead["budget_range"] in (None, "under_5k", "5k_15k", "15k_50k", "50k_plus")
        assert lead["company_size"] in (None, "1-10", "11-50", "51-200", "201-500", "500+")
        assert 0 <= lead["lead_score"] <= 100
        assert re.fullmatch(r"[a-z0-9.]+@example\.(com|net|org)", lead["email"])
        assert re.fullmatch(r"\+1(404|470|678|770)555\d{4}", lead["phone"])
        assert any(word in lead["pain_points"].lower() for word in LOSS_WORDS)


def test_residential_leads_have_no_company(seeded: Seeded) -> None:
    for lead in seeded.records("lead"):
        if lead["industry"] in ("residential", None):
            assert lead["company"] is None and lead["company_size"] is None
        else:
            assert lead["company"] and lead["company_size"]


def test_scores_follow_stage_and_timeline(seeded: Seeded) -> None:
    leads = seeded.records("lead")
    hot = [
        lead["lead_score"]
        for lead in leads
        if lead["timeline"] == "emergency" and lead["pipeline_stage"] in ("qualified", "proposal", "won")
    ]
    cold = [lead["lead_score"] for lead in leads if lead["pipeline_stage"] == "lost"]
    assert hot and min(hot) >= 65 and max(cold) <= 52


def test_qualification_and_crm_sync_follow_the_stage(seeded: Seeded) -> None:
    leads = seeded.records("lead")
    for lead in leads:
        assert (lead["qualification_completed_at"] is None) == (lead["pipeline_stage"] == "new")
        assert lead["created_at"] <= lead["updated_at"]
        if lead["crm_sync"] is not None:
            assert lead["pipeline_stage"] == "won" and lead["crm_sync"]["vendor"] == "jobnimbus"
            assert re.fullmatch(r"jn_\d{6}", lead["crm_sync"]["external_id"])
    assert any(lead["crm_sync"] for lead in leads)


def test_prospect_status_matches_its_enrichment(seeded: Seeded) -> None:
    for prospect in seeded.records("prospect"):
        qualified, fit_score, rationale = assess(prospect)
        status = prospect["qualification_status"]
        if status != "pending":
            assert qualified == (status == "qualified")
        else:
            assert prospect["outreach_status"] == "not_started"
        if status == "disqualified":
            assert prospect["outreach_status"] in ("not_started", "opted_out")
        assert 0 <= fit_score <= 100 and rationale
