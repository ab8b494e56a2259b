"""Outreach: sequences, queued sends, the suppression list and the 409 it causes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import auth

pytestmark = pytest.mark.both_stores

EMAIL = {
    "channel": "email",
    "to": "new.customer@example.com",
    "subject": "Your inspection",
    "body": "Hi Sam, confirming your moisture inspection tomorrow at 9am.",
}
SMS = {
    "channel": "sms",
    "to": "+17705550142",
    "body": "Hi Sarah, confirming our crew at 9am tomorrow. Reply HELP for help, STOP to cancel.",
}


def emitted(sandbox: Any, org_id: str, event_type: str) -> list[dict[str, Any]]:
    """The data of every webhook event of this type the organization's handlers emitted."""
    return [event["data"] for event in sandbox.store.scan("event", org_id) if event["type"] == event_type]


def send(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/outreach/send", json=body, headers=auth(token))


def suppress(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/outreach/suppressions", json=body, headers=auth(token))


def suppressed(sandbox: Any, org_id: str, channel: str) -> dict[str, Any]:
    return next(s for s in sandbox.store.scan("suppression", org_id) if s["channel"] == channel)


def ids(sandbox: Any, kind: str, org_id: str) -> list[str]:
    return [record["id"] for record in sandbox.store.scan(kind, org_id)]


def audited(sandbox: Any, org_id: str, action: str, field: str, value: str) -> bool:
    """Whether an audit event of ``action`` names ``value`` in its payload ``field``."""
    return any(
        event["action"] == action and event["payload"].get(field) == value
        for event in sandbox.store.scan("audit_event", org_id)
    )


def test_sequences_carry_funnel_stats(client, keys, sandbox):
    body = client.get("/api/v1/outreach/sequences", headers=auth(keys["read"])).get_json()
    assert [s["id"] for s in body["data"]] == ids(sandbox, "sequence", keys["org_id"])
    for sequence in body["data"]:
        assert sequence["id"].startswith("seq_") and sequence["channel"] in ("email", "sms")
        assert set(sequence["stats"]) == {"enrolled", "sent", "opened", "replied", "opted_out"}


def test_sequences_page_with_cursor(client, keys, sandbox):
    first = client.get("/api/v1/outreach/sequences?limit=1", headers=auth(keys["read"])).get_json()
    assert len(first["data"]) == 1 and first["next_cursor"]
    second = client.get(
        "/api/v1/outreach/sequences",
        query_string={"limit": 1, "cursor": first["next_cursor"]},
        headers=auth(keys["read"]),
    ).get_json()
    assert second["data"][0]["id"] != first["data"][0]["id"]


@pytest.mark.parametrize("message", [EMAIL, SMS], ids=["email", "sms"])
def test_send_queues_and_stores_the_message(client, keys, sandbox, message):
    response = send(client, keys["write"], message)
    assert response.status_code == 202
    body = response.get_json()
    assert body["message_id"].startswith("msg_")
    assert (body["status"], body["channel"], body["queued_at"]) == (
        "queued",
        message["channel"],
        "2026-11-02T15:30:00.000Z",
    )
    stored = sandbox.store.get("message", keys["org_id"], body["message_id"])
    assert stored["status"] == "queued" and stored["body"] == message["body"]
    assert audited(sandbox, keys["org_id"], "outreach.sent", "message_id", body["message_id"])
    sent = emitted(sandbox, keys["org_id"], "outreach.email.sent")
    assert [data["message_id"] for data in sent] == ([body["message_id"]] if message is EMAIL else [])


@pytest.mark.parametrize(
    ("channel", "spell"),
    [
        ("email", str),
        ("email", str.upper),
        ("email", str.title),
        ("sms", str),
        ("sms", lambda number: f"{number[2:5]}.{number[5:8]}.{number[8:]}"),
    ],
)
def test_send_to_a_suppressed_recipient_is_409(client, keys, sandbox, channel, spell):
    entry = suppressed(sandbox, keys["org_id"], channel)
    message = {**(EMAIL if channel == "email" else SMS), "to": spell(entry["address"])}
    response = send(client, keys["write"], message)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "suppressed_recipient" and entry["id"] in error["message"]
    assert error["details"]["suppression"]["id"] == entry["id"]
    assert sandbox.store.count("message", keys["org_id"]) == 0
    assert not emitted(sandbox, keys["org_id"], "outreach.email.sent")


def test_suppression_is_per_channel_and_per_tenant(client, keys, sandbox):
    entry = suppressed(sandbox, keys["org_id"], "email")
    assert send(client, keys["other_write"], {**EMAIL, "to": entry["address"]}).status_code == 202


def test_send_for_another_tenants_lead_is_404(client, keys, sandbox):
    lead = next(sandbox.store.scan("lead", keys["other_org_id"]))
    response = send(client, keys["write"], {**SMS, "lead_id": lead["id"]})
    assert response.status_code == 404


def test_send_with_own_lead(client, keys, sandbox):
    lead = next(sandbox.store.scan("lead", keys["org_id"]))
    body = send(client, keys["write"], {**SMS, "lead_id": lead["id"]}).get_json()
    assert sandbox.store.get("message", keys["org_id"], body["message_id"])["lead_id"] == lead["id"]


def test_suppressions_list_shows_source_and_reason(client, keys, sandbox):
    body = client.get("/api/v1/outreach/suppressions?limit=200", headers=auth(keys["read"])).get_json()
    assert [s["id"] for s in body["data"]] == ids(sandbox, "suppression", keys["org_id"])
    assert all(s["id"].startswith("sup_") and s["source"] and s["reason"] for s in body["data"])


@pytest.mark.parametrize(
    ("request_body", "stored_address"),
    [
        (
            {"channel": "email", "address": "Old.Contact@Example.COM", "reason": "user_unsubscribe"},
            "old.contact@example.com",
        ),
        ({"channel": "sms", "address": "+17705559999", "reason": "manual_owner_request"}, "+17705559999"),
        ({"channel": "sms", "address": "+17705559998"}, "+17705559998"),
        ({"channel": "sms", "address": "770.555.9997"}, "+17705559997"),
    ],
)
def test_create_suppression_normalises_and_blocks_sends(client, keys, sandbox, request_body, stored_address):
    response = suppress(client, keys["write"], request_body)
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("sup_") and body["address"] == stored_address
    assert body["added_at"] == "2026-11-02T15:30:00.000Z"
    assert audited(sandbox, keys["org_id"], "suppression.added", "suppression_id", body["id"])
    blocked = send(
        client, keys["write"], {**(EMAIL if body["channel"] == "email" else SMS), "to": request_body["address"]}
    )
    assert blocked.get_json()["error"]["code"] == "suppressed_recipient"


@pytest.mark.parametrize("spell", [str, str.upper])
def test_duplicate_suppression_is_409_naming_the_existing_entry(client, keys, sandbox, spell):
    entry = suppressed(sandbox, keys["org_id"], "email")
    response = suppress(client, keys["write"], {"channel": "email", "address": spell(entry["address"])})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "conflict" and error["details"]["existing_id"] == entry["id"]
    assert entry["id"] in error["message"]


def test_another_tenant_can_suppress_the_same_number(client, keys, sandbox):
    entry = suppressed(sandbox, keys["org_id"], "sms")
    response = suppress(client, keys["other_write"], {"channel": "sms", "address": entry["address"]})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("path", "body"), [("/send", SMS), ("/suppressions", {"channel": "sms", "address": "+17705550000"})]
)
def test_writes_need_write_scope(client, keys, path, body):
    assert client.post(f"/api/v1/outreach{path}", json=body, headers=auth(keys["read"])).status_code == 403
