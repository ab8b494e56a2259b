"""Claims: async extraction (scheduled and lazy), signed summaries, and the human review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.resources.claims import complete_extraction
from sandbox.web.app import runtime_of, sandbox_of
from tests.support import FROZEN_AT, auth, make_app

pytestmark = pytest.mark.both_stores

NEW_CLAIM = {
    "loss_type": "water",
    "source": {"vendor": "companycam", "project_id": "cc_proj_5482"},
    "job_external_ref": "jn_117422",
}
EXTRACTION = timedelta(minutes=5)


@pytest.fixture
def emitted(sandbox, monkeypatch) -> list[tuple[str, str, Any]]:
    """Webhook events emitted, recorded instead of delivered."""
    events: list[tuple[str, str, Any]] = []
    monkeypatch.setattr(sandbox.webhooks, "emit", lambda org, event, data: events.append((org, event, data)))
    return events


def create(client: Any, token: str, body: dict[str, Any] = NEW_CLAIM) -> Any:
    return client.post("/api/v1/claims", json=body, headers=auth(token))


def fetch(client: Any, token: str, claim_id: str) -> Any:
    return client.get(f"/api/v1/claims/{claim_id}", headers=auth(token))


def review(client: Any, token: str, claim_id: str, decisions: list[dict[str, Any]]) -> Any:
    return client.post(f"/api/v1/claims/{claim_id}/review", json={"decisions": decisions}, headers=auth(token))


def audit(sandbox: Any, org_id: str, action: str, claim_id: str | None = None) -> list[dict[str, Any]]:
    """Audit events of ``action`` (for one claim if given): the seeded history has some too."""
    return [
        e
        for e in sandbox.store.scan("audit_event", org_id)
        if e["action"] == action and (claim_id is None or e["payload"].get("claim_id") == claim_id)
    ]


def ready_claim(client: Any, keys: dict[str, Any], sandbox: Any) -> dict[str, Any]:
    """A freshly extracted claim, as the API shows it."""
    claim_id = create(client, keys["write"]).get_json()["id"]
    sandbox.clock.advance(EXTRACTION)
    return fetch(client, keys["read"], claim_id).get_json()


def scope_ids(claim: dict[str, Any]) -> list[str]:
    return [item["id"] for room in claim["rooms"] for item in room["scope_items"]]


def test_list_matches_the_store(client, keys, sandbox):
    body = client.get("/api/v1/claims", headers=auth(keys["read"])).get_json()
    expected = list(sandbox.store.scan("claim", keys["org_id"]))
    assert [c["id"] for c in body["data"]] == [c["id"] for c in expected]
    assert set(body["data"][0]) >= {
        "id",
        "job_external_ref",
        "loss_type",
        "status",
        "scope_item_count",
        "photo_count",
        "created_at",
    }


def test_create_starts_an_extraction(client, keys, sandbox, emitted):
    response = create(client, keys["write"])
    assert response.status_code == 202
    body = response.get_json()
    assert body["id"].startswith("clm_") and len(body["id"]) == 10
    assert body["status"] == "extracting"
    assert body["created_at"] == "2026-11-02T15:30:00.000Z"
    assert body["estimated_ready_at"] == "2026-11-02T15:35:00.000Z"
    (event,) = audit(sandbox, keys["org_id"], "claim.created", body["id"])
    assert event["payload"]["claim_id"] == body["id"] and event["source"] == "api"
    detail = fetch(client, keys["read"], body["id"]).get_json()
    assert (detail["status"], detail["rooms"]) == ("extracting", [])
    assert detail["summary_pdf_url"] is None and detail["summary_txt_url"] is None
    assert not [e for e in emitted if e[1] == "claim.scope.ready"]


def test_extraction_finishes_after_five_minutes(client, keys, sandbox, emitted):
    claim_id = create(client, keys["write"]).get_json()["id"]
    sandbox.clock.advance(EXTRACTION - timedelta(seconds=1))
    assert fetch(client, keys["read"], claim_id).get_json()["status"] == "extracting"
    sandbox.clock.advance(timedelta(seconds=1))
    stored = sandbox.store.get("claim", keys["org_id"], claim_id)
    assert stored["status"] == "ready_for_review"  # the clock task ran, no read needed
    detail = fetch(client, keys["read"], claim_id).get_json()
    assert detail["rooms"] and detail["scope_item_count"] == len(scope_ids(detail))
    room = detail["rooms"][0]
    assert set(room["dimensions"]) == {"length_ft", "width_ft", "height_ft"}
    assert {"id", "code", "description", "qty", "unit", "confidence"} <= set(room["scope_items"][0])
    (event,) = audit(sandbox, keys["org_id"], "claim.scope.ready", claim_id)
    assert event["source"] == "worker" and event["payload"]["claim_id"] == claim_id
    ready = [data for org, name, data in emitted if name == "claim.scope.ready"]
    assert [data["id"] for data in ready] == [claim_id] and ready[0]["rooms"] == detail["rooms"]


def test_a_late_read_completes_the_claim_once(client, keys, sandbox, emitted, monkeypatch):
    monkeypatch.setattr(sandbox.clock, "call_at", lambda due, name, payload=None, **tag: "never")  # the task never runs
    claim_id = create(client, keys["write"]).get_json()["id"]
    sandbox.clock.advance(EXTRACTION)
    assert sandbox.store.get("claim", keys["org_id"], claim_id)["status"] == "extracting"
    assert fetch(client, keys["read"], claim_id).get_json()["status"] == "ready_for_review"
    listed = client.get("/api/v1/claims", headers=auth(keys["read"])).get_json()["data"][0]
    assert (listed["id"], listed["status"]) == (claim_id, "ready_for_review")
    complete_extraction(sandbox, keys["org_id"], claim_id)
    assert len(audit(sandbox, keys["org_id"], "claim.scope.ready", claim_id)) == 1
    assert len([e for e in emitted if e[1] == "claim.scope.ready"]) == 1


def test_summary_urls_are_signed_and_served(client, keys, sandbox):
    claim = ready_claim(client, keys, sandbox)
    for fmt, mimetype in (("pdf", "application/pdf"), ("txt", "text/plain")):
        parts = urlsplit(claim[f"summary_{fmt}_url"])
        assert parts.path == f"/_sandbox/claims/{claim['id']}/summary.{fmt}"
        query = parse_qs(parts.query)
        assert int(query["exp"][0]) == int((FROZEN_AT + EXTRACTION).timestamp()) + 3600
        served = client.get(parts.path, query_string=parts.query)
        assert served.mimetype == mimetype and claim["id"].encode() in served.get_data()


def test_review_records_each_decision(client, keys, sandbox):
    claim = ready_claim(client, keys, sandbox)
    first, second, third = scope_ids(claim)[:3]
    decisions = [
        {"scope_item_id": first, "decision": "approve"},
        {"scope_item_id": second, "decision": "edit", "qty": 410, "note": "Re-measured on site"},
        {"scope_item_id": third, "decision": "reject", "reason": "Pre-existing damage, not from loss"},
    ]
    response = review(client, keys["write"], claim["id"], decisions)
    assert response.status_code == 200
    assert response.get_json() == {
        "id": claim["id"],
        "status": "reviewed",
        "decisions_recorded": 3,
        "reviewed_at": "2026-11-02T15:35:00.000Z",
    }
    items = {
        item["id"]: item
        for room in sandbox.store.get("claim", keys["org_id"], claim["id"])["rooms"]
        for item in room["scope_items"]
    }
    before = {item["id"]: item for room in claim["rooms"] for item in room["scope_items"]}
    assert items[first]["decision"] == "approve" and items[first]["qty"] == before[first]["qty"]
    assert (items[second]["decision"], items[second]["qty"], items[second]["note"]) == (
        "edit",
        410,
        "Re-measured on site",
    )
    assert items[second]["original_qty"] == before[second]["qty"]
    assert (items[third]["decision"], items[third]["reason"]) == ("reject", decisions[2]["reason"])
    (event,) = audit(sandbox, keys["org_id"], "claim.reviewed", claim["id"])
    assert event["payload"]["decisions"] == decisions and event["payload"]["key_id"]
    assert fetch(client, keys["read"], claim["id"]).get_json()["status"] == "reviewed"


def test_unknown_scope_item_is_a_validation_error(client, keys, sandbox):
    claim = ready_claim(client, keys, sandbox)
    response = review(
        client,
        keys["write"],
        claim["id"],
        [
            {"scope_item_id": scope_ids(claim)[0], "decision": "approve"},
            {"scope_item_id": "scope_zzzzzz", "decision": "reject", "reason": "typo"},
        ],
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert [f["location"] for f in error["details"]["fields"]] == ["body.decisions[1].scope_item_id"]
    assert sandbox.store.get("claim", keys["org_id"], claim["id"])["status"] == "ready_for_review"
    assert not audit(sandbox, keys["org_id"], "claim.reviewed", claim["id"])


def test_deciding_an_item_twice_is_a_validation_error(client, keys, sandbox):
    claim = ready_claim(client, keys, sandbox)
    item = scope_ids(claim)[0]
    response = review(
        client,
        keys["write"],
        claim["id"],
        [{"scope_item_id": item, "decision": "approve"}, {"scope_item_id": item, "decision": "approve"}],
    )
    assert response.status_code == 400
    (field,) = response.get_json()["error"]["details"]["fields"]
    assert field["location"] == "body.decisions[1].scope_item_id"


def test_reviewing_while_extracting_conflicts(client, keys, sandbox):
    claim_id = create(client, keys["write"]).get_json()["id"]
    decisions = [{"scope_item_id": "scope_aaaaaa", "decision": "approve"}]
    response = review(client, keys["write"], claim_id, decisions)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"


def test_another_tenants_claim_is_404(client, keys, sandbox):
    claim = next(sandbox.store.scan("claim", keys["org_id"]))
    assert fetch(client, keys["other_read"], claim["id"]).status_code == 404
    response = review(
        client, keys["other_write"], claim["id"], [{"scope_item_id": scope_ids(claim)[0], "decision": "approve"}]
    )
    assert response.status_code == 404


def test_extraction_is_deterministic_per_seed_with_reproducible_ids() -> None:
    app = make_app(REPRODUCIBLE_IDS=True, LEADS_PER_ORG=10)
    try:
        client, sandbox = app.test_client(), sandbox_of(app)
        keys = {
            "write": next(
                k["token"]
                for k in sandbox.world.keys
                if k["organization_id"] == sandbox.world.child_org_ids[0] and "write" in k["scopes"]
            )
        }
        keys["read"] = keys["write"]
        first = ready_claim(client, keys, sandbox)
        sandbox.reset()
        again = ready_claim(client, keys, sandbox)
        assert first == again
    finally:
        runtime_of(app).close()


def test_run_time_ids_never_repeat_after_a_reset(client, keys, sandbox):
    first = ready_claim(client, keys, sandbox)
    sandbox.reset()
    again = ready_claim(client, keys, sandbox)
    assert first["id"] != again["id"]


def test_a_second_review_overwrites_the_first(client, keys, sandbox):
    claim = ready_claim(client, keys, sandbox)
    item_id = scope_ids(claim)[0]
    original = claim["rooms"][0]["scope_items"][0]["qty"]
    review(
        client,
        keys["write"],
        claim["id"],
        [{"scope_item_id": item_id, "decision": "edit", "qty": 7, "note": "Re-measured"}],
    )
    sandbox.clock.advance(timedelta(hours=1))
    again = review(
        client,
        keys["write"],
        claim["id"],
        [{"scope_item_id": item_id, "decision": "reject", "reason": "Duplicate line"}],
    ).get_json()
    assert (again["decisions_recorded"], again["reviewed_at"]) == (1, "2026-11-02T16:35:00.000Z")
    item = fetch(client, keys["read"], claim["id"]).get_json()["rooms"][0]["scope_items"][0]
    assert (item["decision"], item["reason"], item["original_qty"]) == ("reject", "Duplicate line", original)
    assert "note" not in item and item["decided_at"] == "2026-11-02T16:35:00.000Z"
