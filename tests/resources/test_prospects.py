"""Prospects: filtered lists and the deterministic qualification agent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import auth

pytestmark = pytest.mark.both_stores

QUALIFY = "/api/v1/prospects/qualify"
ENRICHED = {
    "vertical": "property_management",
    "buildings_managed": 28,
    "units": 640,
    "in_service_radius": True,
    "incumbent_vendor": None,
    "recent_water_loss": True,
}


def seeded(sandbox: Any, org_id: str) -> list[dict[str, Any]]:
    return list(sandbox.store.scan("prospect", org_id))


def add_prospect(sandbox: Any, org_id: str, **enrichment: Any) -> str:
    """Store a prospect with exactly this enrichment and return its id."""
    prospect_id = sandbox.ids.uuid()
    sandbox.store.insert(
        "prospect",
        {
            "id": prospect_id,
            "organization_id": org_id,
            "company_name": "Test Co",
            "contact_name": "Dana Roe",
            "contact_email": "dana@example.com",
            "qualification_status": "pending",
            "outreach_status": "not_started",
            "created_at": "2026-10-01T12:00:00.000Z",
            **{**ENRICHED, **enrichment},
        },
    )
    return prospect_id


def qualify(client: Any, token: str, prospect_id: str) -> Any:
    return client.post(QUALIFY, json={"prospect_id": prospect_id}, headers=auth(token))


@pytest.mark.parametrize("field", ["qualification_status", "vertical", "outreach_status"])
def test_list_filters_match_every_seeded_value(client, keys, sandbox, field):
    values = {prospect[field] for prospect in seeded(sandbox, keys["org_id"])}
    assert values
    for value in values:
        body = client.get(
            "/api/v1/prospects", query_string={field: value, "limit": 200}, headers=auth(keys["read"])
        ).get_json()
        expected = [p["id"] for p in seeded(sandbox, keys["org_id"]) if p[field] == value]
        assert [p["id"] for p in body["data"]] == expected
        assert all(p[field] == value for p in body["data"])


def test_list_pages_newest_first_without_repeats(client, keys, sandbox):
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        body = client.get("/api/v1/prospects", query_string=params, headers=auth(keys["read"])).get_json()
        assert len(body["data"]) <= 7
        seen += [p["id"] for p in body["data"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == [p["id"] for p in seeded(sandbox, keys["org_id"])]


def test_list_is_tenant_scoped(client, keys, sandbox):
    body = client.get("/api/v1/prospects?limit=200", headers=auth(keys["other_read"])).get_json()
    mine = {p["id"] for p in seeded(sandbox, keys["org_id"])}
    assert body["data"] and not mine & {p["id"] for p in body["data"]}


@pytest.mark.parametrize(
    ("enrichment", "qualified", "fit_score", "lines"),
    [
        (
            {"recent_water_loss": "2026-03-14"},
            True,
            95,
            [
                "Manages 28 multifamily buildings inside service radius",
                "No incumbent restoration vendor on record (last 24 months)",
                "Recent water-loss incident reported in news 2026-03",
            ],
        ),
        (
            {"recent_water_loss": False, "buildings_managed": 6},
            True,
            66,
            [
                "Manages 6 multifamily buildings inside service radius",
                "No incumbent restoration vendor on record (last 24 months)",
                "No water-loss incident on record in the last 12 months",
            ],
        ),
        (
            {"incumbent_vendor": "DryForce Atlanta", "recent_water_loss": False, "buildings_managed": 10},
            False,
            55,
            [
                "Incumbent restoration vendor on record: DryForce Atlanta",
                "Fit score 55 is below the qualification threshold of 60",
            ],
        ),
        ({"in_service_radius": False}, False, 70, ["Outside the service radius"]),
        (
            {"vertical": "plumbing", "buildings_managed": 0, "units": 0, "recent_water_loss": False},
            True,
            80,
            ["No incumbent restoration vendor on record (last 24 months)"],
        ),
    ],
)
def test_verdict_and_rationale_follow_from_the_data(client, keys, sandbox, enrichment, qualified, fit_score, lines):
    prospect_id = add_prospect(sandbox, keys["org_id"], **enrichment)
    response = qualify(client, keys["write"], prospect_id)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["prospect_id"], body["qualified"], body["fit_score"]) == (prospect_id, qualified, fit_score)
    assert set(lines) <= set(body["rationale"])
    assert body["qualified_at"] == "2026-11-02T15:30:00.000Z"


def test_qualify_agrees_with_seeded_verdicts(client, keys, sandbox):
    for prospect in seeded(sandbox, keys["org_id"]):
        if prospect["qualification_status"] == "pending":
            continue
        body = qualify(client, keys["write"], prospect["id"]).get_json()
        assert body["qualified"] == (prospect["qualification_status"] == "qualified"), prospect


def test_qualify_updates_status_and_audits(client, keys, sandbox):
    prospect_id = add_prospect(sandbox, keys["org_id"], in_service_radius=False)
    qualify(client, keys["write"], prospect_id)
    stored = sandbox.store.get("prospect", keys["org_id"], prospect_id)
    assert stored["qualification_status"] == "disqualified"
    listed = client.get(
        "/api/v1/prospects?qualification_status=disqualified&limit=200", headers=auth(keys["read"])
    ).get_json()
    assert prospect_id in {p["id"] for p in listed["data"]}
    (event,) = [
        event
        for event in sandbox.store.scan("audit_event", keys["org_id"])
        if event["action"] == "prospect.qualified" and event["payload"]["prospect_id"] == prospect_id
    ]
    assert event["payload"]["diff"]["qualification_status"] == {"from": "pending", "to": "disqualified"}
    assert event["correlation_id"] and event["payload"]["key_id"]


def test_qualify_is_deterministic(client, keys, sandbox):
    prospect_id = seeded(sandbox, keys["org_id"])[0]["id"]
    first, second = (qualify(client, keys["write"], prospect_id).get_json() for _ in range(2))
    assert first == second


@pytest.mark.parametrize("whose", ["other_tenant", "unknown"])
def test_qualify_unknown_or_foreign_prospect_is_404(client, keys, sandbox, whose):
    prospect_id = (
        seeded(sandbox, keys["other_org_id"])[0]["id"]
        if whose == "other_tenant"
        else "00000000-0000-4000-8000-000000000000"
    )
    before = sandbox.store.get("prospect", None, prospect_id)
    response = qualify(client, keys["write"], prospect_id)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert sandbox.store.get("prospect", None, prospect_id) is before


def test_qualify_needs_write_scope(client, keys, sandbox):
    prospect_id = seeded(sandbox, keys["org_id"])[0]["id"]
    assert qualify(client, keys["read"], prospect_id).status_code == 403
