"""The request journal: per tenant, bounded, filtered, resettable, with per-operation coverage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.base.memory_state import MemoryState
from sandbox.services.journal import Journal
from tests.support import FROZEN_AT, auth

pytestmark = [pytest.mark.usefixtures("clean_slate"), pytest.mark.both_stores]


def entry(org: str | None, number: int, **fields: Any) -> dict[str, Any]:
    return {
        "request_id": f"req_{number}",
        "organization_id": org,
        "method": "GET",
        "path": "/api/v1/leads",
        "operation_id": "list_leads",
        "status": 200,
        "correlation_id": None,
        "at": FROZEN_AT + timedelta(seconds=number),
        **fields,
    }


def test_the_journal_keeps_the_last_entries_per_tenant_but_coverage_counts_all() -> None:
    journal = Journal(MemoryState(), capacity=3)
    for number in range(5):
        journal.record(entry("org_a", number, status=200 if number else 429))
    journal.record(entry("org_b", 9))
    assert [e["request_id"] for e in journal.entries("org_a")] == ["req_4", "req_3", "req_2"]
    assert journal.count("org_b") == 1
    operation = type(
        "Op",
        (),
        {
            "id": "list_leads",
            "method": "GET",
            "path": "/api/v1/leads",
            "documented_statuses": (200, 400, 429),
        },
    )()
    row = journal.coverage("org_a", [operation])["operations"][0]
    assert row["statuses"] == {"200": 4, "429": 1} and row["untested_statuses"] == [400]
    assert journal.clear("org_a") == 3 and journal.entries("org_a") == []
    assert journal.coverage("org_a", [operation])["never_called"] == ["list_leads"]


def test_the_journal_keeps_the_newest_entries_up_to_its_capacity() -> None:
    journal = Journal(MemoryState())
    for number in range(50_000):
        journal.record(entry("org_a", number))
    assert journal.count("org_a") == 10_000
    assert journal.entries("org_a", limit=1)[0]["request_id"] == entry("org_a", 49_999)["request_id"]


def test_a_partner_can_assert_what_its_code_sent(client: Any, keys: dict[str, Any]) -> None:
    write, other = auth(keys["write"]), auth(keys["other_write"])
    client.get("/api/v1/leads?limit=2", headers=write)
    client.post(
        "/api/v1/leads",
        headers={**write, "X-Correlation-Id": "corr_mine"},
        json={"name": "Ana Ruiz", "email": "ana@example.com"},
    )
    client.post("/api/v1/leads", headers=write, json={"email": "not-an-email"})
    client.get("/api/v1/leads", headers=other)

    everything = client.get("/_sandbox/journal", headers=write).get_json()
    assert [e["operation_id"] for e in everything["data"]] == ["create_lead", "create_lead", "list_leads"]
    created = everything["data"][1]
    assert created["method"] == "POST" and created["status"] == 201 and created["correlation_id"] == "corr_mine"
    assert created["path"] == "/api/v1/leads" and created["organization_id"] == keys["org_id"]
    assert created["request_id"].startswith("req_") and created["at"].startswith("2026-11-02T15:30")

    def query(**params: Any) -> list[dict[str, Any]]:
        return client.get("/_sandbox/journal", headers=write, query_string=params).get_json()["data"]

    assert [e["status"] for e in query(method="post")] == [400, 201]
    assert len(query(status=400)) == 1 and len(query(operation_id="list_leads")) == 1
    assert len(query(path="/api/v1/*")) == 3 and query(path="/api/v1/calls") == []
    assert len(query(limit=1)) == 1 and query(since="2026-11-02T16:00:00Z") == []
    bad = client.get("/_sandbox/journal", headers=write, query_string={"status": "teapot"})
    assert bad.status_code == 400

    assert client.delete("/_sandbox/journal", headers=write).get_json()["cleared"] >= 3
    assert [e["operation_id"] for e in query()] == ["clear_journal"]


def test_coverage_shows_statuses_per_operation_and_what_was_never_called(client: Any, keys: dict[str, Any]) -> None:
    write = auth(keys["write"])
    client.get("/api/v1/leads", headers=write)
    client.get("/api/v1/leads/00000000-0000-4000-8000-000000000000", headers=write)
    client.post("/api/v1/leads", headers=write, json={})
    coverage = client.get("/_sandbox/journal/coverage", headers=write).get_json()
    rows = {row["operation_id"]: row for row in coverage["operations"]}
    assert rows["list_leads"]["statuses"] == {"200": 1}
    assert rows["get_lead"]["statuses"] == {"404": 1} and 200 in rows["get_lead"]["untested_statuses"]
    assert rows["create_lead"]["statuses"] == {"400": 1}
    assert "get_call" in coverage["never_called"] and "list_leads" not in coverage["never_called"]
    assert coverage["called"] == 3 and coverage["total"] == len(rows)
    assert not any(op.startswith(("list_scenarios", "get_journal")) for op in rows)
