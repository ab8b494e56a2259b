"""Webhooks through the public API: subscribe, receive signed events from real state changes,
rotate with a 24-hour overlap, see the deliveries log, delete, and SSRF refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jsonschema_rs
import pytest

from sandbox.base.spec import load_spec
from sandbox.services.webhooks import verify_signature
from tests.support import auth
from tests.webhooks.receiver import Receiver, node_sample_verifies, wait_until

pytestmark = pytest.mark.both_stores

SPEC = load_spec().document


def conforms(event: dict[str, Any]) -> None:
    """The delivered payload matches its event's schema in the spec's top-level ``webhooks``."""
    schema = SPEC["webhooks"][event["type"]]["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": SPEC["components"]}, validate_formats=True)
    errors = [error.message for error in validator.iter_errors(event)]
    assert not errors, f"{event['type']} payload does not conform: {errors}"


def subscribe(client: Any, keys: dict[str, Any], url: str, events: list[str]) -> dict[str, Any]:
    response = client.post(
        "/api/v1/webhooks", json={"url": url, "events": events, "description": "test"}, headers=auth(keys["admin"])
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def verifies(sandbox: Any, secret: str, received: Any) -> bool:
    # Against real time, as a partner's receiver does: X-EAL-Timestamp is wall-clock time even
    # when the sandbox clock has been advanced (as in the rotation test below).
    return verify_signature(received.body, received.headers, secret)


def patch_a_lead(client: Any, keys: dict[str, Any], sandbox: Any, **changes: Any) -> str:
    lead = next(sandbox.store.scan("lead", keys["org_id"]))
    response = client.patch(
        f"/api/v1/leads/{lead['id']}", json=changes or {"lead_score": 3}, headers=auth(keys["write"])
    )
    assert response.status_code == 200
    return str(lead["id"])


@pytest.fixture
def receiver() -> Any:
    hook = Receiver()
    yield hook
    hook.close()


def test_secret_is_shown_once_and_only_its_prefix_afterwards(client, keys, receiver):
    created = subscribe(client, keys, receiver.url, ["lead.created"])
    assert created["signing_secret"].startswith("whsec_")
    assert "not be shown again" in created["_warning"]
    assert created["signing_secret_prefix"] == created["signing_secret"][:12]
    again = client.get(f"/api/v1/webhooks/{created['id']}", headers=auth(keys["read"])).get_json()
    listed = client.get("/api/v1/webhooks", headers=auth(keys["read"])).get_json()["data"]
    for view in (again, *listed):
        assert "signing_secret" not in view and not any(k.startswith("_") for k in view)
    assert again["signing_secret_prefix"] == created["signing_secret_prefix"]


def test_patch_delivers_a_signed_conforming_lead_updated(client, keys, sandbox, receiver):
    created = subscribe(client, keys, receiver.url, ["lead.updated"])
    lead_id = patch_a_lead(client, keys, sandbox, pipeline_stage="won", lead_score=97)
    [delivery] = receiver.wait_for(1)
    event = json.loads(delivery.body)
    assert event["type"] == "lead.updated" and event["organization_id"] == keys["org_id"]
    assert event["data"]["lead"]["id"] == lead_id
    assert event["data"]["diff"]["pipeline_stage"]["to"] == "won"
    assert node_sample_verifies(created["signing_secret"], delivery)
    assert delivery.headers["x-eal-event-id"] == event["id"]
    assert delivery.headers["x-eal-delivery-attempt"] == "1"
    conforms(event)


def test_deliveries_log_records_each_attempt(client, keys, sandbox, receiver):
    created = subscribe(client, keys, receiver.url, ["lead.created"])
    client.post("/api/v1/leads", json={"email": "hook@example.com"}, headers=auth(keys["write"]))
    [delivery] = receiver.wait_for(1)
    url = f"/api/v1/webhooks/{created['id']}/deliveries"
    wait_until(lambda: client.get(url, headers=auth(keys["read"])).get_json()["data"][:1] != [])
    wait_until(lambda: client.get(url, headers=auth(keys["read"])).get_json()["data"][0]["status"] == "delivered")
    [attempt] = client.get(url, headers=auth(keys["read"])).get_json()["data"]
    assert attempt["event"] == "lead.created" and attempt["response_status"] == 200
    assert attempt["attempt"] == 1 and attempt["event_id"] == delivery.headers["x-eal-event-id"]


def test_only_the_events_organization_is_notified(client, keys, sandbox, receiver):
    other = Receiver()
    try:
        client.post(
            "/api/v1/webhooks", json={"url": other.url, "events": ["lead.created"]}, headers=auth(keys["other_admin"])
        )
        subscribe(client, keys, receiver.url, ["lead.created"])
        client.post("/api/v1/leads", json={"email": "mine@example.com"}, headers=auth(keys["write"]))
        receiver.wait_for(1)
        assert sandbox.webhooks.settle(None, 5)
        assert other.requests == []
    finally:
        other.close()


def test_a_webhook_deleted_between_its_look_up_and_its_rotation_is_a_404(client, keys, sandbox, receiver, monkeypatch):
    # on a fleet another process's DELETE (or a reset) can land between the handler's look-up and the
    # rotation's own read: the rotation then finds nothing, which was a 500
    created = subscribe(client, keys, receiver.url, ["lead.updated"])
    subscriptions = sandbox.webhooks.subscriptions
    rotate = subscriptions.rotate

    def deleted_first(org_id, webhook_id):
        sandbox.webhooks.delete_subscription(org_id, webhook_id)
        return rotate(org_id, webhook_id)

    monkeypatch.setattr(subscriptions, "rotate", deleted_first)
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=auth(keys["admin"]))
    assert rotated.status_code == 404, rotated.get_json()
    assert rotated.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/webhooks/{created['id']}", headers=auth(keys["admin"])).status_code == 404


def test_rotation_overlap_then_only_the_new_secret(client, keys, sandbox, receiver):
    created = subscribe(client, keys, receiver.url, ["lead.updated"])
    old = created["signing_secret"]
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=auth(keys["admin"]))
    assert rotated.status_code == 200
    new = rotated.get_json()["signing_secret"]
    assert new != old and "24 hours" in rotated.get_json()["_warning"]

    patch_a_lead(client, keys, sandbox, lead_score=11)
    during = receiver.wait_for(1)[-1]
    assert node_sample_verifies(new, during)
    assert verifies(sandbox, old, during) and verifies(sandbox, new, during)

    sandbox.clock.advance(timedelta(hours=24, seconds=1))
    patch_a_lead(client, keys, sandbox, lead_score=12)
    after = receiver.wait_for(2)[-1]
    assert verifies(sandbox, new, after) and node_sample_verifies(new, after)
    assert not verifies(sandbox, old, after)


def test_deleted_subscription_gets_nothing_more(client, keys, sandbox, receiver):
    created = subscribe(client, keys, receiver.url, ["lead.updated"])
    deleted = client.delete(f"/api/v1/webhooks/{created['id']}", headers=auth(keys["admin"]))
    assert deleted.get_json() == {"id": created["id"], "deleted": True}
    patch_a_lead(client, keys, sandbox, lead_score=5)
    assert sandbox.webhooks.settle(None, 5)
    assert receiver.requests == []
    assert client.get(f"/api/v1/webhooks/{created['id']}", headers=auth(keys["read"])).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "http://8.8.8.8/hook",
        "https://[fd00::1]/hook",
        "ftp://127.0.0.1/hook",
    ],
)
def test_ssrf_targets_are_refused_naming_the_url(client, keys, url):
    response = client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["lead.created"]}, headers=auth(keys["admin"])
    )
    assert response.status_code == 400
    assert [f["location"] for f in response.get_json()["error"]["details"]["fields"]] == ["body.url"]


def test_unknown_event_name_is_named(client, keys, receiver):
    response = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["lead.deleted"]}, headers=auth(keys["admin"])
    )
    assert response.status_code == 400
    assert "lead.deleted" in json.dumps(response.get_json()["error"])


def test_replay_redelivers_the_same_event_id(client, keys, sandbox, receiver):
    subscribe(client, keys, receiver.url, ["lead.created"])
    client.post("/api/v1/leads", json={"email": "replay@example.com"}, headers=auth(keys["write"]))
    [first] = receiver.wait_for(1)
    event_id = first.headers["x-eal-event-id"]
    response = client.post(f"/_sandbox/webhooks/events/{event_id}/replay", headers=auth(keys["write"]))
    assert response.status_code == 202 and response.get_json()["deliveries_scheduled"] == 1
    second = receiver.wait_for(2)[1]
    assert second.headers["x-eal-event-id"] == event_id
    assert second.body == first.body


EVENT_TYPES = list(SPEC["webhooks"])


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_event_type_arrives_signed_and_conforming(client, keys, sandbox, receiver, event_type):
    created = subscribe(client, keys, receiver.url, [event_type])
    response = client.post("/_sandbox/trigger", json={"event": event_type}, headers=auth(keys["write"]))
    assert response.status_code in (200, 201, 202), response.get_json()
    [first, *_] = receiver.wait_for(1)
    assert sandbox.webhooks.settle(None, 5)
    for delivery in receiver.requests:
        event = json.loads(delivery.body)
        assert event["type"] == event_type and event["organization_id"] == keys["org_id"]
        assert node_sample_verifies(created["signing_secret"], delivery)
        conforms(event)
