"""The audit history refers to records that exist."""

from __future__ import annotations

import re

from tests.world.seeded import Seeded

SOURCES = {"api", "cron", "n8n", "worker", "system"}
REFERENCES = {
    "lead_id": "lead",
    "call_id": "call",
    "claim_id": "claim",
    "content_id": "content",
    "sequence_id": "sequence",
    "suppression_id": "suppression",
    "grant_id": "grant",
}


def test_events_reference_existing_records(seeded: Seeded) -> None:
    for event in seeded.records("audit_event"):
        assert event["source"] in SOURCES
        assert re.fullmatch(r"corr_[a-z0-9]{6}", event["correlation_id"])
        for field, kind in REFERENCES.items():
            if field in event["payload"]:
                target = seeded.store.get(kind, event["organization_id"], event["payload"][field])
                assert target is not None, (event["action"], field)


def test_api_events_name_a_key_of_their_organization(seeded: Seeded) -> None:
    keys = {key["id"]: key for key in seeded.info.keys}
    for event in seeded.records("audit_event"):
        if event["source"] == "api":
            assert keys[event["payload"]["key_id"]]["organization_id"] == event["organization_id"]


def test_lead_updates_carry_a_stage_diff(seeded: Seeded) -> None:
    updates = [e for e in seeded.records("audit_event") if e["action"] == "lead.updated"]
    assert updates
    for event in updates:
        lead = seeded.store.get("lead", None, event["payload"]["lead_id"])
        diff = event["payload"]["diff"]
        assert diff["pipeline_stage"]["to"] == lead["pipeline_stage"] != diff["pipeline_stage"]["from"]
        assert event["created_at"] == lead["updated_at"]


def test_each_child_has_a_varied_history(seeded: Seeded) -> None:
    for org_id in seeded.info.child_org_ids:
        actions = {event["action"] for event in seeded.records("audit_event", org_id)}
        assert {
            "lead.created",
            "lead.updated",
            "call.classified",
            "claim.reviewed",
            "outreach.sent",
        } <= actions
