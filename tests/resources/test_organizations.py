"""Organizations: me, a parent's children with their grants, child creation, settings and grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.base.clock import isoformat, parse_iso
from tests.support import FROZEN_AT, auth

pytestmark = pytest.mark.both_stores

NOW = isoformat(FROZEN_AT)
ORG_FIELDS = ("id", "name", "industry", "parent_organization_id", "settings", "created_at")
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
ALL_SCOPES = ["leads.read", "calls.read", "audit_log.read"]
NEW_CHILD = {
    "name": "PuroClean of West Cobb",
    "industry": "restoration",
    "settings": {"timezone": "America/Chicago"},
    "primary_admin_email": "owner@example.com",
}


def get(client: Any, token: str, path: str, **query: Any) -> Any:
    return client.get(f"/api/v1{path}", query_string=query, headers=auth(token))


def post(client: Any, token: str, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1{path}", json=body, headers=auth(token))


def patch(client: Any, token: str, org_id: str, body: dict[str, Any]) -> Any:
    return client.patch(f"/api/v1/organizations/{org_id}", json=body, headers=auth(token))


def organization(sandbox: Any, org_id: str) -> dict[str, Any]:
    return sandbox.store.get("organization", None, org_id)


def audit_events(sandbox: Any, org_id: str, action: str) -> list[dict[str, Any]]:
    return [e for e in sandbox.store.scan("audit_event", org_id) if e["action"] == action]


def key_id(sandbox: Any, token: str) -> str:
    return next(key["id"] for key in sandbox.world.keys if key["token"] == token)


def children(client: Any, keys: dict[str, Any]) -> dict[str, dict[str, Any]]:
    body = get(client, keys["parent_admin"], "/organizations", limit=200).get_json()
    return {child["id"]: child for child in body["data"]}


def grant(client: Any, token: str, org_id: str, **body: Any) -> Any:
    return post(client, token, f"/organizations/{org_id}/grants", body)


# --- me -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "org"),
    [
        ("read", "org_id"),
        ("write", "org_id"),
        ("admin", "org_id"),
        ("other_read", "other_org_id"),
        ("parent_read", "parent_org_id"),
        ("parent_admin", "parent_org_id"),
    ],
)
def test_me_is_the_keys_organization(client, keys, sandbox, role, org):
    body = get(client, keys[role], "/organizations/me").get_json()
    stored = organization(sandbox, keys[org])
    assert body == {name: stored[name] for name in ORG_FIELDS}
    expected_parent = None if org == "parent_org_id" else keys["parent_org_id"]
    assert body["parent_organization_id"] == expected_parent


# --- children -----------------------------------------------------------------------------


def test_parent_lists_its_children_newest_first_with_their_grants(client, keys, sandbox):
    body = get(client, keys["parent_admin"], "/organizations").get_json()
    expected = sorted(
        sandbox.world.child_org_ids, key=lambda i: (organization(sandbox, i)["created_at"], i), reverse=True
    )
    assert [child["id"] for child in body["data"]] == expected and body["next_cursor"] is None
    for child in body["data"]:
        assert child["parent_organization_id"] == keys["parent_org_id"]
        assert child["grants"] == ALL_SCOPES


def test_children_page_with_a_cursor(client, keys, sandbox):
    first = get(client, keys["parent_admin"], "/organizations", limit=1).get_json()
    rest = get(client, keys["parent_admin"], "/organizations", limit=200, cursor=first["next_cursor"]).get_json()
    seen = [c["id"] for c in first["data"] + rest["data"]]
    assert sorted(seen) == sorted(sandbox.world.child_org_ids) and len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 403), ("other_admin", 403), ("parent_read", 403), ("read", 403), ("write", 403)]
)
def test_only_a_parent_admin_lists_children(client, keys, role, status):
    response = get(client, keys[role], "/organizations")
    assert response.status_code == status and response.get_json()["error"]["code"] == "forbidden"


# --- create child -------------------------------------------------------------------------


def test_parent_creates_a_child_with_an_invite_and_usable_keys(client, keys, sandbox):
    response = post(client, keys["parent_admin"], "/organizations", NEW_CHILD)
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == NEW_CHILD["name"] and body["parent_organization_id"] == keys["parent_org_id"]
    assert body["created_at"] == NOW
    assert body["invite_url"].startswith("https://www.expertailabs.ai/invite/itok_")
    assert parse_iso(body["invite_expires_at"]) - parse_iso(body["created_at"]) == timedelta(days=7)
    assert sorted(map(sorted, (k["scopes"] for k in body["sandbox_keys"]))) == [
        ["admin", "read", "write"],
        ["read"],
        ["read", "write"],
    ]
    for new_key in body["sandbox_keys"]:
        me = get(client, new_key["token"], "/organizations/me").get_json()
        assert me["id"] == body["id"] and me["parent_organization_id"] == keys["parent_org_id"]
        assert me["settings"] == {"timezone": "America/Chicago", "default_locale": "en-US"}
    assert children(client, keys)[body["id"]]["grants"] == []
    event = audit_events(sandbox, keys["parent_org_id"], "organization.created")[0]
    assert event["payload"]["child_organization_id"] == body["id"]
    assert event["payload"]["key_id"] == key_id(sandbox, keys["parent_admin"])


def test_new_childs_keys_act_as_the_child(client, keys):
    body = post(client, keys["parent_admin"], "/organizations", {"name": "PuroClean of Marietta"}).get_json()
    write = next(k["token"] for k in body["sandbox_keys"] if k["scopes"] == ["read", "write"])
    admin = next(k["token"] for k in body["sandbox_keys"] if "admin" in k["scopes"])
    lead = post(client, write, "/leads", {"email": "first.lead@example.com"}).get_json()
    assert lead["organization_id"] == body["id"]
    assert get(client, keys["read"], f"/leads/{lead['id']}").status_code == 404
    assert get(client, admin, "/organizations").status_code == 403
    created = grant(client, admin, body["id"], parent_organization_id=keys["parent_org_id"], scopes=["leads.read"])
    assert created.status_code == 201
    assert children(client, keys)[body["id"]]["grants"] == ["leads.read"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"industry": "restoration"},
        {"name": "X", "settings": {"tz": "UTC"}},
        {"name": "X", "owner": "me"},
        {"name": "X", "primary_admin_email": "not-an-email"},
        {"name": "X", "settings": {"default_locale": "english"}},
    ],
)
def test_invalid_child_is_400_and_creates_nothing(client, keys, sandbox, body):
    before = sandbox.store.count("organization")
    response = post(client, keys["parent_admin"], "/organizations", body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_error"
    assert sandbox.store.count("organization") == before


@pytest.mark.parametrize("role", ["admin", "parent_read", "write"])
def test_only_a_parent_admin_creates_children(client, keys, sandbox, role):
    before = sandbox.store.count("organization")
    response = post(client, keys[role], "/organizations", NEW_CHILD)
    assert response.status_code == 403
    assert sandbox.store.count("organization") == before


# --- update -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("admin", "org_id"),
        ("parent_admin", "org_id"),
        ("parent_admin", "parent_org_id"),
        ("other_admin", "other_org_id"),
    ],
)
def test_settings_are_merged_and_the_name_changes(client, keys, sandbox, role, target):
    org_id = keys[target]
    before = organization(sandbox, org_id)
    response = patch(client, keys[role], org_id, {"name": "Renamed Location", "settings": {"default_locale": "es-US"}})
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "id": org_id,
        "name": "Renamed Location",
        "updated_at": NOW,
        "settings": {**before["settings"], "default_locale": "es-US"},
    }
    me_token = {"org_id": "read", "parent_org_id": "parent_read", "other_org_id": "other_read"}[target]
    me = get(client, keys[me_token], "/organizations/me").get_json()
    assert me["name"] == "Renamed Location" and me["settings"] == body["settings"]
    event = audit_events(sandbox, org_id, "organization.updated")[0]
    assert event["payload"]["diff"] == {
        "name": {"from": before["name"], "to": "Renamed Location"},
        "settings": {"from": before["settings"], "to": body["settings"]},
    }
    assert event["payload"]["key_id"] == key_id(sandbox, keys[role])


def test_integration_toggles_merge_too(client, keys, sandbox):
    seeded = organization(sandbox, keys["org_id"])["settings"].get("integrations", {})
    patch(client, keys["admin"], keys["org_id"], {"settings": {"integrations": {"callrail": True}}})
    second = {"settings": {"integrations": {"jobnimbus": False}}}
    body = patch(client, keys["admin"], keys["org_id"], second).get_json()
    assert body["settings"]["integrations"] == {**seeded, "callrail": True, "jobnimbus": False}
    assert body["settings"]["timezone"]


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("admin", "other_org_id"),
        ("admin", "parent_org_id"),
        ("other_admin", "org_id"),
        ("parent_admin", "unknown"),
        ("admin", "unknown"),
    ],
)
def test_an_organization_the_key_does_not_manage_is_404(client, keys, sandbox, role, target):
    org_id = keys.get(target, UNKNOWN_ID)
    before = organization(sandbox, org_id)
    response = patch(client, keys[role], org_id, {"name": "Hijacked"})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert organization(sandbox, org_id) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"settings": {}},
        {"settings": {"theme": "dark"}},
        {"settings": {"default_locale": "english"}},
        {"settings": {"integrations": {"salesforce": True}}},
        {"parent_organization_id": UNKNOWN_ID},
        {"id": UNKNOWN_ID},
    ],
)
def test_invalid_update_is_400_and_changes_nothing(client, keys, sandbox, body):
    before = organization(sandbox, keys["org_id"])
    response = patch(client, keys["admin"], keys["org_id"], body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_error"
    assert organization(sandbox, keys["org_id"]) == before


def test_update_needs_an_admin_key(client, keys):
    assert patch(client, keys["write"], keys["org_id"], {"name": "Nope"}).status_code == 403


# --- grants -------------------------------------------------------------------------------


def test_child_grants_its_parent_and_the_parent_sees_the_scopes(client, keys, sandbox):
    expires = "2027-04-27T00:00:00.000Z"
    response = grant(
        client,
        keys["admin"],
        keys["org_id"],
        parent_organization_id=keys["parent_org_id"],
        scopes=["leads.read", "calls.read"],
        expires_at=expires,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["parent_organization_id"] == keys["parent_org_id"]
    assert body["scopes"] == ["leads.read", "calls.read"]
    assert body["created_at"] == NOW and body["expires_at"] == expires
    listed = children(client, keys)
    assert listed[keys["org_id"]]["grants"] == ["leads.read", "calls.read"]
    assert listed[keys["other_org_id"]]["grants"] == ALL_SCOPES
    event = audit_events(sandbox, keys["org_id"], "grant.created")[0]
    assert event["payload"]["grant_id"] == body["grant_id"]
    assert event["payload"]["scopes"] == ["leads.read", "calls.read"]
    assert event["payload"]["key_id"] == key_id(sandbox, keys["admin"])


def test_grant_expiry_defaults_to_a_year(client, keys):
    body = grant(
        client, keys["admin"], keys["org_id"], parent_organization_id=keys["parent_org_id"], scopes=["audit_log.read"]
    ).get_json()
    assert parse_iso(body["expires_at"]) - parse_iso(body["created_at"]) == timedelta(days=365)


def test_a_new_grant_replaces_the_old_one(client, keys):
    for scopes in (["calls.read"], ["audit_log.read", "leads.read"]):
        grant(client, keys["admin"], keys["org_id"], parent_organization_id=keys["parent_org_id"], scopes=scopes)
    assert children(client, keys)[keys["org_id"]]["grants"] == ["audit_log.read", "leads.read"]


def test_an_expired_grant_shows_no_scopes(client, keys, sandbox):
    expires = isoformat(FROZEN_AT + timedelta(hours=1))
    grant(
        client,
        keys["admin"],
        keys["org_id"],
        parent_organization_id=keys["parent_org_id"],
        scopes=["leads.read"],
        expires_at=expires,
    )
    assert children(client, keys)[keys["org_id"]]["grants"] == ["leads.read"]
    sandbox.clock.advance(timedelta(hours=2))
    assert children(client, keys)[keys["org_id"]]["grants"] == []


def test_a_grant_expiring_in_another_offset_is_compared_as_an_instant(client, keys):
    # 14:00 at UTC-3 is 17:00Z: an hour and a half after the frozen 15:30Z, so the grant is live.
    response = grant(
        client,
        keys["admin"],
        keys["org_id"],
        parent_organization_id=keys["parent_org_id"],
        scopes=["leads.read"],
        expires_at="2026-11-02T14:00:00-03:00",
    )
    assert response.status_code == 201
    assert parse_iso(response.get_json()["expires_at"]) == FROZEN_AT + timedelta(hours=1, minutes=30)
    assert children(client, keys)[keys["org_id"]]["grants"] == ["leads.read"]


@pytest.mark.parametrize(
    ("parent", "extra"),
    [
        ("other_org_id", {}),
        ("org_id", {}),
        (None, {}),
        ("parent_org_id", {"expires_at": "2026-01-01T00:00:00.000Z"}),
        ("parent_org_id", {"expires_at": NOW}),
        ("parent_org_id", {"expires_at": "2026-11-02T16:00:00+02:00"}),
        ("parent_org_id", {"scopes": []}),
        ("parent_org_id", {"scopes": ["leads.write"]}),
        ("parent_org_id", {"scopes": ["leads.read", "leads.read"]}),
        ("parent_org_id", {"expires_at": "next year"}),
        ("parent_org_id", {"note": "typo"}),
    ],
)
def test_invalid_grant_is_400_and_grants_nothing(client, keys, sandbox, parent, extra):
    body = {"parent_organization_id": keys[parent] if parent else UNKNOWN_ID, "scopes": ["leads.read"], **extra}
    grants_before = list(sandbox.store.scan("grant", keys["org_id"]))
    response = post(client, keys["admin"], f"/organizations/{keys['org_id']}/grants", body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_error"
    assert list(sandbox.store.scan("grant", keys["org_id"])) == grants_before
    assert children(client, keys)[keys["org_id"]]["grants"] == ALL_SCOPES


@pytest.mark.parametrize(
    ("role", "target", "status"),
    [
        ("admin", "other_org_id", 404),
        ("parent_admin", "org_id", 404),
        ("admin", "unknown", 404),
        ("write", "org_id", 403),
    ],
)
def test_only_the_childs_own_admin_key_grants(client, keys, role, target, status):
    org_id = keys.get(target, UNKNOWN_ID)
    response = grant(client, keys[role], org_id, parent_organization_id=keys["parent_org_id"], scopes=["leads.read"])
    assert response.status_code == status
    assert children(client, keys)[keys["other_org_id"]]["grants"] == ALL_SCOPES
