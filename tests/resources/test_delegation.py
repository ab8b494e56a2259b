"""A parent reads a child's leads, calls and audit log through a live grant (X-EAL-Organization)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.base.clock import isoformat
from tests.support import FROZEN_AT, auth

pytestmark = pytest.mark.both_stores

HEADER = "X-EAL-Organization"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
READS = [
    ("/leads", "leads.read"),
    ("/calls", "calls.read"),
    ("/calls/stats", "calls.read"),
    ("/audit-log", "audit_log.read"),
    ("/audit-log/export.csv", "audit_log.read"),
]


def get(client: Any, token: str, path: str, acting: str | None = None, **query: Any) -> Any:
    headers = auth(token) | ({HEADER: acting} if acting else {})
    return client.get(f"/api/v1{path}", query_string=query, headers=headers)


def regrant(client: Any, keys: dict[str, Any], scopes: list[str], **extra: Any) -> None:
    response = client.post(
        f"/api/v1/organizations/{keys['org_id']}/grants",
        headers=auth(keys["admin"]),
        json={"parent_organization_id": keys["parent_org_id"], "scopes": scopes, **extra},
    )
    assert response.status_code == 201


@pytest.mark.parametrize("role", ["parent_read", "parent_admin"])
@pytest.mark.parametrize(("path", "_scope"), READS)
def test_a_parent_reads_a_granting_child_exactly_as_the_child_does(client, keys, role, path, _scope):
    as_parent = get(client, keys[role], path, acting=keys["org_id"], limit=200)
    as_child = get(client, keys["read"], path, limit=200)
    assert as_parent.status_code == as_child.status_code == 200
    assert as_parent.data == as_child.data
    assert as_parent.data != get(client, keys[role], path, limit=200).data  # not the parent's own


def test_single_records_of_the_child_are_readable_by_id(client, keys, sandbox):
    for kind, path in (("lead", "/leads"), ("call", "/calls"), ("audit_event", "/audit-log")):
        record = next(sandbox.store.scan(kind, keys["org_id"]))
        assert get(client, keys["parent_read"], f"{path}/{record['id']}").status_code == 404
        response = get(client, keys["parent_read"], f"{path}/{record['id']}", acting=keys["org_id"])
        assert response.status_code == 200
        assert response.get_json()["id"] == record["id"]


def test_the_child_id_is_matched_in_any_letter_case(client, keys):
    upper = get(client, keys["parent_read"], "/leads", acting=keys["org_id"].upper())
    assert upper.status_code == 200 and upper.data == get(client, keys["read"], "/leads").data


def test_the_header_on_an_operation_without_a_key_is_400_too(client, keys):
    response = client.get("/api/v1/health", headers={HEADER: keys["org_id"]})
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["fields"][0]["location"] == f"header.{HEADER}"


def test_the_callers_own_id_changes_nothing(client, keys):
    own = get(client, keys["parent_read"], "/leads", acting=keys["parent_org_id"])
    assert own.status_code == 200 and own.data == get(client, keys["parent_read"], "/leads").data


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("parent_read", None),  # an id nobody has
        ("read", "parent_org_id"),  # a child naming its parent
        ("read", "other_org_id"),  # a child naming its sibling
    ],
)
def test_an_organization_that_is_not_the_callers_child_is_404(client, keys, role, target):
    target_id = keys[target] if target else UNKNOWN_ID
    response = get(client, keys[role], "/leads", acting=target_id)
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found" and error["details"] == {"header": HEADER, "id": target_id}


@pytest.mark.parametrize(("path", "scope"), READS)
def test_a_grant_without_the_scope_is_403_naming_it(client, keys, path, scope):
    others = [s for s in ("leads.read", "calls.read", "audit_log.read") if s != scope]
    regrant(client, keys, others)
    response = get(client, keys["parent_read"], path, acting=keys["org_id"])
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "grant_required" and scope in error["message"]
    assert error["details"] == {
        "organization_id": keys["org_id"],
        "required_grant_scope": scope,
        "granted_scopes": others,
    }


def test_the_grant_stops_working_when_it_expires(client, keys, sandbox):
    expires = FROZEN_AT + timedelta(hours=2)
    regrant(client, keys, ["leads.read"], expires_at=isoformat(expires))
    assert get(client, keys["parent_read"], "/leads", acting=keys["org_id"]).status_code == 200
    sandbox.clock.advance(timedelta(hours=2))
    response = get(client, keys["parent_read"], "/leads", acting=keys["org_id"])
    assert response.status_code == 403
    assert response.get_json()["error"]["details"]["granted_scopes"] == []
    assert sandbox.clock.now() == expires


def test_a_child_created_through_the_api_needs_its_own_grant(client, keys):
    created = client.post(
        "/api/v1/organizations", headers=auth(keys["parent_admin"]), json={"name": "PuroClean of Marietta"}
    ).get_json()
    response = get(client, keys["parent_read"], "/leads", acting=created["id"])
    assert response.status_code == 403
    assert "no live grant" in response.get_json()["error"]["message"]
    child_admin = next(k["token"] for k in created["sandbox_keys"] if "admin" in k["scopes"])
    assert (
        client.post(
            f"/api/v1/organizations/{created['id']}/grants",
            headers=auth(child_admin),
            json={"parent_organization_id": keys["parent_org_id"], "scopes": ["leads.read"]},
        ).status_code
        == 201
    )
    listed = get(client, keys["parent_read"], "/leads", acting=created["id"])
    assert listed.status_code == 200 and listed.get_json() == {"data": [], "next_cursor": None}


def test_writes_never_act_for_another_organization(client, keys, sandbox):
    before = sandbox.store.count("lead", keys["org_id"]), sandbox.store.count("lead", keys["parent_org_id"])
    response = client.post(
        "/api/v1/leads",
        headers=auth(keys["parent_admin"]) | {HEADER: keys["org_id"]},
        json={"name": "Dana Whitfield", "email": "dana@example.com"},
    )
    assert response.status_code == 400
    fields = response.get_json()["error"]["details"]["fields"]
    assert [f["location"] for f in fields] == [f"header.{HEADER}"]
    assert "writes always act on the key's own organization" in fields[0]["message"]
    assert (sandbox.store.count("lead", keys["org_id"]), sandbox.store.count("lead", keys["parent_org_id"])) == before


def test_a_malformed_organization_id_is_a_validation_error(client, keys):
    response = get(client, keys["parent_read"], "/leads", acting="not-a-uuid")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["fields"][0]["location"] == f"header.{HEADER}"


def test_the_key_still_needs_the_operations_own_scope(client, keys, sandbox):
    # The grant widens which organization a key reads, never what the key may do.
    sandbox.keys.add(
        {
            "id": "k-no-scope",
            "token": "eal_test_noscopeatall0000000000000000",
            "organization_id": keys["parent_org_id"],
            "scopes": [],
        }
    )
    response = get(client, "eal_test_noscopeatall0000000000000000", "/leads", acting=keys["org_id"])
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
