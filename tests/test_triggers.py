"""Triggers: each event type creates its realistic state and delivers its webhooks, signed."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from click.testing import CliRunner

from sandbox.base.spec import load_spec
from sandbox.services.webhooks import EVENT_TYPES, verify_signature
from tests.support import auth

pytestmark = [pytest.mark.usefixtures("clean_slate"), pytest.mark.both_stores]

# The event types each story emits, besides audit.log.event.
STORIES = {
    "call.received": ["call.received", "call.classified"],
    "call.classified": ["call.received", "call.classified"],
    "call.qualified": ["call.received", "call.classified", "lead.created", "call.qualified"],
    "lead.created": ["lead.created"],
    "lead.updated": ["lead.updated"],
    "outreach.email.sent": ["lead.created", "outreach.email.sent"],
    "outreach.email.replied": ["lead.created", "outreach.email.sent", "outreach.email.replied"],
    "claim.scope.ready": ["claim.scope.ready"],
    "review.requested": ["review.requested"],
    "review.received": ["review.received"],
    "audit.log.event": [],
}


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_a_trigger_delivers_its_event_signed(
    event: str,
    client: Any,
    keys: dict[str, Any],
    sandbox: Any,
    receiver: Any,
    subscribe: Any,
) -> None:
    webhook = subscribe(receiver.url, list(EVENT_TYPES))
    assert sandbox.webhooks.settle(None, 5)
    already = len(receiver.wait_for(1))  # the audit.log.event of creating the subscription
    response = client.post("/_sandbox/trigger", headers=auth(keys["write"]), json={"event": event})
    assert response.status_code == 201
    result = response.get_json()
    emitted = [e["type"] for e in result["events"]]
    assert [t for t in emitted if t != "audit.log.event"] == STORIES[event]
    assert "audit.log.event" in emitted
    assert sandbox.webhooks.settle(None, 5)
    delivered = receiver.wait_for(already + len(emitted))[already:]
    assert sorted(d.event_type for d in delivered) == sorted(emitted)
    for delivery in delivered:
        now = int(delivery.headers["x-eal-timestamp"])
        assert verify_signature(delivery.body, delivery.headers, webhook["signing_secret"], now=now)
    assert {json.loads(d.body)["id"] for d in delivered} == {e["id"] for e in result["events"]}
    for delivery in delivered:  # every payload is what openapi.yaml's `webhooks` section promises
        errors = [e.message for e in webhook_validator(delivery.event_type).iter_errors(json.loads(delivery.body))]
        assert not errors, (delivery.event_type, errors)


@cache
def webhook_validator(event_type: str) -> Any:
    spec = load_spec().document
    schema = spec["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def test_call_qualified_makes_a_call_its_classification_and_a_lead(client: Any, keys: dict[str, Any]) -> None:
    read = auth(keys["read"])
    result = client.post(
        "/_sandbox/trigger", headers=auth(keys["write"]), json={"event": "call.qualified", "count": 2}
    ).get_json()
    assert len(result["records"]["call"]) == 2 and len(result["records"]["lead"]) == 2
    call = client.get(f"/api/v1/calls/{result['records']['call'][0]}", headers=read).get_json()
    assert call["classification"]["qualified"] is True and call["transcript"]
    assert call["dispatch_decision"]["action"] in ("auto_dispatch", "callback_scheduled")
    assert call["recording_url"]
    lead = client.get(f"/api/v1/leads/{result['records']['lead'][0]}", headers=read).get_json()
    assert lead["phone"] == call["caller_number"]


def test_claim_scope_ready_makes_a_claim_ready_for_review(client: Any, keys: dict[str, Any]) -> None:
    result = client.post(
        "/_sandbox/trigger", headers=auth(keys["write"]), json={"event": "claim.scope.ready"}
    ).get_json()
    claim = client.get(f"/api/v1/claims/{result['records']['claim'][0]}", headers=auth(keys["read"])).get_json()
    assert claim["status"] == "ready_for_review" and claim["rooms"] and claim["summary_pdf_url"]


def test_triggers_need_the_write_scope_and_a_known_event(client: Any, keys: dict[str, Any]) -> None:
    assert (
        client.post("/_sandbox/trigger", headers=auth(keys["read"]), json={"event": "lead.created"}).status_code == 403
    )
    bad = client.post("/_sandbox/trigger", headers=auth(keys["write"]), json={"event": "lead.exploded"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "validation_error"


def test_the_trigger_command_reports_what_it_made(live_sandbox: Any) -> None:
    result = CliRunner().invoke(
        main_command(),
        ["trigger", "call.qualified", "--url", live_sandbox.base_url, "--key", live_sandbox.keys["write"]],
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"^call +call_", result.output, re.M) and "emitted call.qualified" in result.output


def main_command() -> Any:
    from sandbox.cli import main

    return main
