"""Leads: filtered pages, the full record, create, whitelisted PATCH with an audited diff,
deterministic re-scoring, idempotent CRM pushes and tenant isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.base.clock import isoformat
from tests.support import FROZEN_AT, auth

pytestmark = pytest.mark.both_stores

NOW = isoformat(FROZEN_AT)
AI_FIELDS = ("pain_points", "timeline", "budget_range", "ai_reasoning", "qualification_completed_at")
LIST_FIELDS = {
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
}
NEW_LEAD = {
    "name": "Sarah Mitchell",
    "email": "sarah.mitchell@example.com",
    "source": "website",
    "industry": "residential",
    "pipeline_stage": "new",
}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def get(client: Any, token: str, path: str, **query: Any) -> Any:
    return client.get(f"/api/v1{path}", query_string=query, headers=auth(token))


def create(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/leads", json=body, headers=auth(token))


def patch(client: Any, token: str, lead_id: str, body: dict[str, Any], **headers: str) -> Any:
    return client.patch(f"/api/v1/leads/{lead_id}", json=body, headers={**auth(token), **headers})


def stored(sandbox: Any, org_id: str) -> list[dict[str, Any]]:
    return list(sandbox.store.scan("lead", org_id))


def audit_events(sandbox: Any, org_id: str, action: str) -> list[dict[str, Any]]:
    return [e for e in sandbox.store.scan("audit_event", org_id) if e["action"] == action]


def key_id(sandbox: Any, token: str) -> str:
    return next(key["id"] for key in sandbox.world.keys if key["token"] == token)


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


# --- list ---------------------------------------------------------------------------------


def test_list_defaults_to_50_newest_first_in_the_list_shape(client, keys, sandbox):
    body = get(client, keys["read"], "/leads").get_json()
    assert ids(body["data"]) == ids(stored(sandbox, keys["org_id"])[:50])
    assert all(set(lead) == LIST_FIELDS for lead in body["data"])
    assert all(lead["organization_id"] == keys["org_id"] for lead in body["data"])
    assert body["next_cursor"]


@pytest.mark.parametrize("limit", [1, 7, 50, 119, 120, 200])
def test_limit_bounds_the_page(client, keys, sandbox, limit):
    body = get(client, keys["read"], "/leads", limit=limit).get_json()
    everything = stored(sandbox, keys["org_id"])
    assert ids(body["data"]) == ids(everything[:limit])
    assert (body["next_cursor"] is None) == (limit >= len(everything))


def test_limit_200_returns_200_when_there_are_more(client, keys, sandbox):
    for n in range(200 - len(stored(sandbox, keys["org_id"])) + 1):
        assert create(client, keys["write"], {"email": f"bulk{n}@example.com"}).status_code == 201
    body = get(client, keys["read"], "/leads", limit=200).get_json()
    assert len(body["data"]) == 200 and body["next_cursor"]
    assert ids(body["data"]) == ids(stored(sandbox, keys["org_id"])[:200])


@pytest.mark.parametrize("limit", [0, -1, 201, 1000, "ten", "1.5"])
def test_out_of_range_limit_is_400(client, keys, limit):
    response = get(client, keys["read"], "/leads", limit=limit)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "query",
    [
        {"pipeline_stage": "new"},
        {"pipeline_stage": "contacted"},
        {"pipeline_stage": "qualified"},
        {"pipeline_stage": "proposal"},
        {"pipeline_stage": "won"},
        {"pipeline_stage": "lost"},
        {"source": "website"},
        {"source": "google_ads"},
        {"source": "callrail"},
        {"source": "lsa"},
        {"pipeline_stage": "contacted", "source": "website"},
    ],
)
def test_filters_match_a_manual_filter_of_the_store(client, keys, sandbox, query):
    body = get(client, keys["read"], "/leads", limit=200, **query).get_json()
    expected = [
        lead for lead in stored(sandbox, keys["org_id"]) if all(lead[name] == value for name, value in query.items())
    ]
    assert expected, "the seeded world should hold leads of every filtered kind"
    assert ids(body["data"]) == ids(expected)
    assert body["next_cursor"] is None


@pytest.mark.parametrize(("newest", "oldest"), [(10, 40), (0, 0), (60, 119), (None, 30), (90, None)])
def test_created_at_range_is_inclusive(client, keys, sandbox, newest, oldest):
    everything = stored(sandbox, keys["org_id"])  # newest first
    query = {}
    if newest is not None:
        query["end_at"] = everything[newest]["created_at"]
    if oldest is not None:
        query["start_at"] = everything[oldest]["created_at"]
    body = get(client, keys["read"], "/leads", limit=200, **query).get_json()
    start, end = query.get("start_at", ""), query.get("end_at", "9999")
    expected = [lead for lead in everything if start <= lead["created_at"] <= end]
    assert expected and ids(body["data"]) == ids(expected)


def test_range_accepts_an_offset_and_compares_instants(client, keys, sandbox):
    everything = stored(sandbox, keys["org_id"])
    instant = FROZEN_AT - timedelta(days=30)
    offset = (instant - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S-05:00")
    body = get(client, keys["read"], "/leads", limit=200, start_at=offset).get_json()
    assert ids(body["data"]) == ids([lead for lead in everything if lead["created_at"] >= isoformat(instant)])


@pytest.mark.parametrize(
    "query",
    [{"pipeline_stage": "closed"}, {"source": "tiktok"}, {"start_at": "yesterday"}, {"end_at": "2026-13-01T00:00:00Z"}],
)
def test_unknown_filter_values_are_400(client, keys, query):
    response = get(client, keys["read"], "/leads", **query)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_error"


# --- get ----------------------------------------------------------------------------------


def test_get_returns_the_full_record_with_ai_fields(client, keys, sandbox):
    lead = next(
        lead for lead in stored(sandbox, keys["org_id"]) if lead["pain_points"] and lead["qualification_completed_at"]
    )
    body = get(client, keys["read"], f"/leads/{lead['id']}").get_json()
    for field in (*LIST_FIELDS, *AI_FIELDS, "phone", "crm_sync"):
        assert body[field] == lead[field], field


# --- create -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        NEW_LEAD,
        {"email": "only.email@example.com"},
        {"name": "Dana Whitfield", "company": "Whitfield Property Group"},
        {
            "name": "Full Lead",
            "company": "Acme HOA",
            "email": "ops@acme-hoa.example.com",
            "phone": "+17705550142",
            "source": "referral",
            "pipeline_stage": "contacted",
            "industry": "commercial",
            "company_size": "11-50",
            "pain_points": "Roof leak over unit 4B",
            "timeline": "this_week",
            "budget_range": "$5k-$10k",
        },
    ],
)
def test_create_returns_201_and_the_lead_is_readable_and_listed_first(client, keys, sandbox, body):
    response = create(client, keys["write"], body)
    assert response.status_code == 201
    lead = response.get_json()
    assert {name: lead[name] for name in body if name in lead} == {n: v for n, v in body.items() if n in lead}
    assert lead["organization_id"] == keys["org_id"]
    assert lead["created_at"] == lead["updated_at"] == NOW
    assert lead["lead_score"] == 0
    assert lead["source"] == body.get("source", "manual")
    assert lead["pipeline_stage"] == body.get("pipeline_stage", "new")
    fetched = get(client, keys["read"], f"/leads/{lead['id']}").get_json()
    assert {name: fetched[name] for name in LIST_FIELDS} == {name: lead[name] for name in LIST_FIELDS}
    assert fetched.get("phone") == body.get("phone")
    first = get(client, keys["read"], "/leads").get_json()["data"][0]
    assert first == {name: lead[name] for name in LIST_FIELDS}


def test_create_is_audited(client, keys, sandbox):
    lead = create(client, keys["write"], NEW_LEAD).get_json()
    event = audit_events(sandbox, keys["org_id"], "lead.created")[0]
    assert event["payload"]["lead_id"] == lead["id"]
    assert event["payload"]["key_id"] == key_id(sandbox, keys["write"])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "Only A Name"},
        {"company": "Only A Company"},
        {"name": "Name", "phone": "+17705550142"},
        {"email": "sarah.mitchell"},
        {"email": "sarah@"},
        {"email": "@example.com"},
        {"email": "sarah mitchell@example.com"},
        {"email": ""},
        {"email": None},
        {"email": "x@example.com", "lead_score": 90},
        {"email": "x@example.com", "id": UNKNOWN_ID},
        {"email": "x@example.com", "organization_id": UNKNOWN_ID},
        {"email": "x@example.com", "pipeline_stage": "closed"},
        {"email": "x@example.com", "source": "tiktok"},
        {"email": "x@example.com", "notes": "typo field"},
    ],
)
def test_invalid_create_is_400_and_stores_nothing(client, keys, sandbox, body):
    before = sandbox.store.count("lead", keys["org_id"])
    response = create(client, keys["write"], body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_error"
    assert sandbox.store.count("lead", keys["org_id"]) == before


@pytest.mark.parametrize("body", [{}, {"name": "Only A Name"}, {"company": "Only A Company", "source": "yelp"}])
def test_a_lead_without_email_or_name_and_company_is_one_any_of_required_problem(client, keys, body):
    fields = create(client, keys["write"], body).get_json()["error"]["details"]["fields"]
    assert fields == [
        {"location": "body", "message": "needs at least one of: email, or name + company", "rule": "any_of_required"}
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/leads"), ("patch", "/leads/{id}"), ("post", "/leads/{id}/score"), ("post", "/leads/{id}/push-to-crm")],
)
def test_writes_need_a_write_key(client, keys, sandbox, method, path):
    lead_id = stored(sandbox, keys["org_id"])[0]["id"]
    body = {"email": "x@example.com"} if path == "/leads" else {"pipeline_stage": "won"}
    response = getattr(client, method)(
        f"/api/v1{path.format(id=lead_id)}",
        json=body if method == "patch" or path == "/leads" else None,
        headers=auth(keys["read"]),
    )
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


# --- patch --------------------------------------------------------------------------------

WHITELISTED = [
    ("name", "Dana Whitfield"),
    ("company", "Whitfield Property Group"),
    ("company", None),
    ("email", "dana.whitfield@example.com"),
    ("email", None),
    ("source", "yelp"),
    ("lead_score", 73),
    ("lead_score", 0),
    ("lead_score", 100),
    ("pipeline_stage", "proposal"),
    ("industry", "commercial"),
    ("industry", None),
    ("company_size", "11-50"),
    ("pain_points", "Smoke odor in the upstairs hallway"),
    ("timeline", "this_quarter"),
    ("budget_range", "$5k-$10k"),
    ("ai_reasoning", "Reviewed by the owner"),
]


@pytest.mark.parametrize(("field", "value"), WHITELISTED)
def test_patch_changes_a_whitelisted_field(client, keys, sandbox, field, value):
    lead = next(lead for lead in stored(sandbox, keys["org_id"]) if lead[field] != value)
    response = patch(client, keys["write"], lead["id"], {field: value})
    assert response.status_code == 200
    body = response.get_json()
    assert body.get(field, value) == value and body["updated_at"] == NOW
    assert sandbox.store.get("lead", keys["org_id"], lead["id"])[field] == value
    assert get(client, keys["read"], f"/leads/{lead['id']}").get_json()[field] == value


def test_a_listed_lead_shows_a_patch_on_the_next_page_read(client, keys, sandbox):
    # List pages reuse each stored record's view; a patch stores a new record, so a new view.
    first = get(client, keys["read"], "/leads", limit=5).get_json()["data"][0]
    stage = "proposal" if first["pipeline_stage"] != "proposal" else "won"
    assert patch(client, keys["write"], first["id"], {"pipeline_stage": stage}).status_code == 200
    again = get(client, keys["read"], "/leads", limit=5).get_json()["data"][0]
    assert again["id"] == first["id"]
    assert (again["pipeline_stage"], again["updated_at"]) == (stage, NOW)


@pytest.mark.parametrize(
    "body",
    [
        {"lead_score": -1},
        {"lead_score": 101},
        {"lead_score": 50.5},
        {"lead_score": "90"},
        {"lead_score": None},
        {"pipeline_stage": "closed"},
        {"source": "tiktok"},
        {"email": "not-an-email"},
        {"name": ""},
        {"name": None},
        {},
    ],
)
def test_invalid_patch_values_are_400(client, keys, sandbox, body):
    lead = stored(sandbox, keys["org_id"])[0]
    response = patch(client, keys["write"], lead["id"], body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_error"
    assert sandbox.store.get("lead", keys["org_id"], lead["id"]) == lead


@pytest.mark.parametrize(
    "body",
    [
        {"id": UNKNOWN_ID},
        {"organization_id": UNKNOWN_ID},
        {"created_at": "2026-01-01T00:00:00.000Z"},
        {"updated_at": "2026-01-01T00:00:00.000Z"},
        {"qualification_completed_at": "2026-01-01T00:00:00.000Z"},
        {"phone": "+17705550142"},
        {"crm_sync": None},
        {"lead_scor": 5},
        {"notes": "hello"},
        {"pipeline_stage": "won", "organization_id": UNKNOWN_ID},
        {
            "lead_score": 92,
            "crm_sync": {
                "vendor": "jobnimbus",
                "external_id": "jn_1",
                "status": "ok",
                "last_synced_at": "2026-01-01T00:00:00.000Z",
            },
        },
    ],
)
def test_non_whitelisted_fields_are_400_and_change_nothing(client, keys, sandbox, body):
    lead = stored(sandbox, keys["org_id"])[0]
    updates_before = len(audit_events(sandbox, keys["org_id"], "lead.updated"))
    response = patch(client, keys["write"], lead["id"], body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_error"
    assert sandbox.store.get("lead", keys["org_id"], lead["id"]) == lead
    assert len(audit_events(sandbox, keys["org_id"], "lead.updated")) == updates_before


def test_patch_is_audited_with_a_per_field_diff_key_and_correlation_id(client, keys, sandbox):
    lead = next(
        lead for lead in stored(sandbox, keys["org_id"]) if lead["pipeline_stage"] != "won" and lead["lead_score"] != 92
    )
    response = patch(
        client,
        keys["write"],
        lead["id"],
        {"pipeline_stage": "won", "lead_score": 92, "name": lead["name"]},
        **{"X-Correlation-Id": "corr_partner_test_42"},
    )
    assert response.status_code == 200
    assert response.headers["X-Correlation-Id"] == "corr_partner_test_42"
    page = get(client, keys["read"], "/audit-log", action="lead.updated", limit=5).get_json()["data"]
    event = page[0]
    assert event["action"] == "lead.updated" and event["source"] == "api"
    assert event["correlation_id"] == "corr_partner_test_42"
    assert event["created_at"] == NOW
    assert event["payload"] == {
        "lead_id": lead["id"],
        "diff": {
            "pipeline_stage": {"from": lead["pipeline_stage"], "to": "won"},
            "lead_score": {"from": lead["lead_score"], "to": 92},
        },
        "key_id": key_id(sandbox, keys["write"]),
    }
    assert all(e["created_at"] < NOW for e in page[1:])


def test_patch_that_changes_nothing_writes_no_audit_event(client, keys, sandbox):
    lead = stored(sandbox, keys["org_id"])[3]
    before = get(client, keys["read"], "/audit-log", action="lead.updated", limit=200).get_json()["data"]
    same = {name: lead[name] for name in ("pipeline_stage", "lead_score", "name", "email")}
    response = patch(client, keys["write"], lead["id"], same)
    assert response.status_code == 200
    assert response.get_json()["updated_at"] == lead["updated_at"]
    after = get(client, keys["read"], "/audit-log", action="lead.updated", limit=200).get_json()["data"]
    assert after == before
    assert sandbox.store.get("lead", keys["org_id"], lead["id"]) == lead


# --- score --------------------------------------------------------------------------------


def score(client: Any, token: str, lead_id: str) -> Any:
    return client.post(f"/api/v1/leads/{lead_id}/score", headers=auth(token))


SCORED = {
    "name": "Maria Lopez",
    "email": "maria.lopez@example.com",
    "phone": "+14045550173",
    "source": "website",
    "timeline": "emergency",
    "pain_points": "Burst pipe flooded the basement",
}


def test_score_names_its_signals_and_updates_the_lead(client, keys, sandbox):
    lead = create(client, keys["write"], SCORED).get_json()
    body = score(client, keys["write"], lead["id"]).get_json()
    # 20 + emergency .30 + water .18 + phone .10 + website .06 + email .04, strongest first
    assert body == {
        "id": lead["id"],
        "lead_score": 88,
        "scored_at": NOW,
        "ai_reasoning": "Emergency timeline (+0.30); Water damage signal (+0.18); "
        "Phone validated (+0.10); High-intent source website (+0.06); "
        "Email on file (+0.04)",
    }
    fetched = get(client, keys["read"], f"/leads/{lead['id']}").get_json()
    assert fetched["lead_score"] == 88 and fetched["ai_reasoning"] == body["ai_reasoning"]
    event = audit_events(sandbox, keys["org_id"], "lead.updated")[0]
    assert event["payload"]["diff"]["lead_score"] == {"from": 0, "to": 88}


def test_a_lead_without_signals_scores_20_and_says_so(client, keys):
    quiet = {"name": "No Signals", "company": "Quiet LLC", "source": "yelp"}
    lead = create(client, keys["write"], quiet).get_json()
    patch(client, keys["write"], lead["id"], {"company": None})
    body = score(client, keys["write"], lead["id"]).get_json()
    assert body["lead_score"] == 20 and body["ai_reasoning"].startswith("No qualifying signals")


@pytest.mark.parametrize("index", [0, 1, 5, 17, 42, 99])
def test_score_is_deterministic_for_seeded_leads(client, keys, sandbox, index):
    lead = stored(sandbox, keys["org_id"])[index]
    first = score(client, keys["write"], lead["id"]).get_json()
    second = score(client, keys["write"], lead["id"]).get_json()
    assert first == second
    assert 0 <= first["lead_score"] <= 100
    assert sandbox.store.get("lead", keys["org_id"], lead["id"])["lead_score"] == first["lead_score"]


@pytest.mark.parametrize(
    "changes",
    [
        {"pain_points": "Smoke damage after a kitchen fire", "timeline": "this_week"},
        {"pain_points": None, "ai_reasoning": "Caller reported sewage backing up into the basement"},
        {"pain_points": "Mold behind the drywall", "ai_reasoning": "Storm last week"},
    ],
)
def test_rescoring_an_unchanged_lead_gives_the_same_answer(client, keys, sandbox, changes):
    lead = stored(sandbox, keys["org_id"])[2]
    patch(client, keys["write"], lead["id"], changes)
    first = score(client, keys["write"], lead["id"]).get_json()
    second = score(client, keys["write"], lead["id"]).get_json()
    assert (second["lead_score"], second["ai_reasoning"]) == (first["lead_score"], first["ai_reasoning"])


def test_scored_at_is_the_time_of_the_rescore(client, keys, sandbox):
    lead = stored(sandbox, keys["org_id"])[4]
    score(client, keys["write"], lead["id"])
    sandbox.clock.advance(timedelta(minutes=10))
    body = score(client, keys["write"], lead["id"]).get_json()
    assert body["scored_at"] == isoformat(FROZEN_AT + timedelta(minutes=10))


# --- push to CRM --------------------------------------------------------------------------


def push(client: Any, token: str, lead_id: str) -> Any:
    return client.post(f"/api/v1/leads/{lead_id}/push-to-crm", headers=auth(token))


def test_push_records_a_sync_once_and_repushes_return_it(client, keys, sandbox):
    lead = next(lead for lead in stored(sandbox, keys["org_id"]) if lead["crm_sync"] is None)
    first = push(client, keys["write"], lead["id"])
    assert first.status_code == 200
    sync = first.get_json()["crm_sync"]
    assert sync["vendor"] == "jobnimbus" and sync["status"] == "ok" and sync["last_synced_at"] == NOW
    assert sync["external_id"].startswith("jn_")
    sandbox.clock.advance(timedelta(minutes=5))
    for _ in range(3):
        again = push(client, keys["write"], lead["id"])
        assert again.status_code == 200 and again.get_json() == first.get_json()
    assert get(client, keys["read"], f"/leads/{lead['id']}").get_json()["crm_sync"] == sync
    pushes = [
        e for e in audit_events(sandbox, keys["org_id"], "lead.crm_pushed") if e["payload"]["lead_id"] == lead["id"]
    ]
    assert len(pushes) == 1 and pushes[0]["payload"]["external_id"] == sync["external_id"]


def test_push_of_an_already_synced_lead_returns_its_sync(client, keys, sandbox):
    lead = next(lead for lead in stored(sandbox, keys["org_id"]) if lead["crm_sync"])
    pushes_before = len(audit_events(sandbox, keys["org_id"], "lead.crm_pushed"))
    body = push(client, keys["write"], lead["id"]).get_json()
    assert body == {"id": lead["id"], "crm_sync": lead["crm_sync"]}
    assert len(audit_events(sandbox, keys["org_id"], "lead.crm_pushed")) == pushes_before


def test_different_leads_get_different_external_ids(client, keys, sandbox):
    fresh = [lead for lead in stored(sandbox, keys["org_id"]) if lead["crm_sync"] is None][:5]
    external = {push(client, keys["write"], lead["id"]).get_json()["crm_sync"]["external_id"] for lead in fresh}
    assert len(external) == 5


# --- tenant isolation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"pipeline_stage": "won"}),
        ("post", "/score", None),
        ("post", "/push-to-crm", None),
    ],
)
@pytest.mark.parametrize("whose", ["sibling", "unknown"])
def test_another_tenants_lead_is_404_and_untouched(client, keys, sandbox, method, suffix, body, whose):
    lead = stored(sandbox, keys["other_org_id"])[0]
    lead_id = lead["id"] if whose == "sibling" else UNKNOWN_ID
    token = keys["admin"]
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(f"/api/v1/leads/{lead_id}{suffix}", headers=auth(token), **kwargs)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert sandbox.store.get("lead", keys["other_org_id"], lead["id"]) == lead


def test_list_never_shows_another_tenants_leads(client, keys, sandbox):
    mine = get(client, keys["read"], "/leads", limit=200).get_json()["data"]
    theirs = get(client, keys["other_read"], "/leads", limit=200).get_json()["data"]
    assert not set(ids(mine)) & set(ids(theirs))
    assert {lead["organization_id"] for lead in theirs} == {keys["other_org_id"]}
