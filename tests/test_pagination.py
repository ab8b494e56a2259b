"""Cursor pagination: exact walks, the cursor's documented shape, tampering, and writes mid-walk."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import auth

pytestmark = pytest.mark.both_stores


def get(client: Any, token: str, path: str, **query: Any) -> Any:
    return client.get(f"/api/v1{path}", query_string=query, headers=auth(token))


def walk(
    client: Any, token: str, path: str, limit: int, between: Callable[[int], None] = lambda page: None, **query: Any
) -> list[dict[str, Any]]:
    """Every record of a list, page by page, calling ``between`` after each page."""
    seen: list[dict[str, Any]] = []
    cursor, page = None, 0
    while True:
        page_query = {**query, **({"cursor": cursor} if cursor else {})}
        body = get(client, token, path, limit=limit, **page_query).get_json()
        assert len(body["data"]) <= limit
        seen += body["data"]
        cursor, page = body["next_cursor"], page + 1
        if cursor is None:
            return seen
        assert len(body["data"]) == limit, "only the last page may be short"
        between(page)


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def create_leads(client: Any, token: str, count: int, tag: str) -> list[str]:
    created = []
    for n in range(count):
        response = client.post("/api/v1/leads", json={"email": f"{tag}.{n}@example.com"}, headers=auth(token))
        assert response.status_code == 201
        created.append(response.get_json()["id"])
    return created


def test_limit_37_visits_every_stored_lead_exactly_once(client, keys, sandbox):
    seen = walk(client, keys["read"], "/leads", 37)
    assert ids(seen) == [lead["id"] for lead in sandbox.store.scan("lead", keys["org_id"])]
    assert len(set(ids(seen))) == len(seen) == 120


@pytest.mark.parametrize("limit", [1, 50, 119, 120, 200])
def test_next_cursor_is_null_exactly_at_the_end(client, keys, limit):
    body = get(client, keys["read"], "/leads", limit=limit).get_json()
    assert len(body["data"]) == min(limit, 120)
    assert (body["next_cursor"] is None) == (limit >= 120)


def test_last_page_has_a_null_cursor(client, keys):
    first = get(client, keys["read"], "/leads", limit=100).get_json()
    last = get(client, keys["read"], "/leads", limit=100, cursor=first["next_cursor"]).get_json()
    assert len(last["data"]) == 20 and last["next_cursor"] is None


@pytest.mark.parametrize(
    "query", [{"pipeline_stage": "contacted"}, {"source": "website"}, {"pipeline_stage": "won", "source": "callrail"}]
)
def test_filtered_walk_is_exact(client, keys, sandbox, query):
    seen = walk(client, keys["read"], "/leads", 4, **query)
    expected = [
        lead["id"]
        for lead in sandbox.store.scan("lead", keys["org_id"])
        if all(lead[name] == value for name, value in query.items())
    ]
    assert expected and ids(seen) == expected


def test_cursor_is_base64url_json_of_the_last_records_position(client, keys):
    body = get(client, keys["read"], "/leads", limit=37).get_json()
    cursor = body["next_cursor"]
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    last = body["data"][-1]
    assert position == {"created_at": last["created_at"], "id": last["id"]}


def test_a_padded_cursor_is_accepted(client, keys):
    body = get(client, keys["read"], "/leads", limit=37).get_json()
    cursor = body["next_cursor"]
    padded = cursor + "=" * (-len(cursor) % 4)
    plain = get(client, keys["read"], "/leads", limit=37, cursor=cursor).get_json()
    assert get(client, keys["read"], "/leads", limit=37, cursor=padded).get_json() == plain


TAMPERED = {
    "not base64 (length)": "abcde",
    "not base64 (alphabet)": "!!!not-a-cursor!!!",
    "not json": encode(b"created_at=2026-01-01&id=x"),
    "not utf-8": encode(b"\xff\xfe\xfa\x00"),
    "json list": encode(b'["2026-10-01T00:00:00.000Z", "x"]'),
    "json string": encode(b'"2026-10-01T00:00:00.000Z"'),
    "json number": encode(b"42"),
    "json null": encode(b"null"),
    "no fields": encode(b"{}"),
    "no id": encode(b'{"created_at": "2026-10-01T00:00:00.000Z"}'),
    "no created_at": encode(b'{"id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18"}'),
    "numeric created_at": encode(b'{"created_at": 1761955200, "id": "x"}'),
    "numeric id": encode(b'{"created_at": "2026-10-01T00:00:00.000Z", "id": 7}'),
    "null id": encode(b'{"created_at": "2026-10-01T00:00:00.000Z", "id": null}'),
    "object id": encode(b'{"created_at": "2026-10-01T00:00:00.000Z", "id": {"$gt": ""}}'),
    "empty strings": encode(b'{"created_at": "", "id": ""}'),
    "created_at not a timestamp": encode(b'{"created_at": "zzz", "id": "x"}'),
}


@pytest.mark.parametrize("cursor", TAMPERED.values(), ids=TAMPERED.keys())
@pytest.mark.parametrize("path", ["/leads", "/audit-log"])
def test_a_tampered_cursor_is_400_invalid_cursor(client, keys, cursor, path):
    response = get(client, keys["read"], path, cursor=cursor)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_cursor", error
    assert "cursor" in error["message"]


def test_creating_leads_while_paging_never_skips_or_repeats(client, keys, sandbox):
    before = [lead["id"] for lead in sandbox.store.scan("lead", keys["org_id"])]
    created: list[str] = []
    seen = walk(
        client,
        keys["read"],
        "/leads",
        37,
        between=lambda page: created.extend(create_leads(client, keys["write"], 3, f"mid{page}")),
    )
    assert created and sandbox.store.count("lead", keys["org_id"]) == len(before) + len(created)
    pre_existing = [lead_id for lead_id in ids(seen) if lead_id in set(before)]
    assert pre_existing == before
    assert len(ids(seen)) == len(set(ids(seen)))


def test_creating_leads_at_the_cursors_instant_never_skips_or_repeats(client, keys, sandbox):
    # The clock is frozen, so these share one created_at: only the id breaks the tie.
    create_leads(client, keys["write"], 12, "tied")
    before = [lead["id"] for lead in sandbox.store.scan("lead", keys["org_id"])]

    def create_a_few(page: int) -> None:
        if page < 6:
            create_leads(client, keys["write"], 4, f"tie{page}")

    seen = walk(client, keys["read"], "/leads", 5, between=create_a_few)
    assert [lead_id for lead_id in ids(seen) if lead_id in set(before)] == before
    assert len(ids(seen)) == len(set(ids(seen)))


def test_audit_events_written_while_paging_never_skip_or_repeat(client, keys, sandbox):
    before = [event["id"] for event in sandbox.store.scan("audit_event", keys["org_id"])]
    leads = [lead["id"] for lead in sandbox.store.scan("lead", keys["org_id"])]

    def patch_a_lead(page: int) -> None:
        client.patch(f"/api/v1/leads/{leads[page]}", json={"lead_score": page}, headers=auth(keys["write"]))

    seen = walk(client, keys["read"], "/audit-log", 37, between=patch_a_lead)
    assert [event_id for event_id in ids(seen) if event_id in set(before)] == before
    assert len(ids(seen)) == len(set(ids(seen)))
