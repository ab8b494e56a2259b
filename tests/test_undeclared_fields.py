"""Responses carry no field their schema does not declare.

openapi-core (the contract fixture) lets an object carry properties its schema does not name, so
a handler could drift past the spec unnoticed. This walks real responses against their schemas:
wherever a schema lists ``properties``, every field of the response must be one of them. Objects
the spec leaves free-form (no ``properties``, or ``additionalProperties: true`` as on an audit
payload, whose fields depend on the action) are not checked for extra fields.
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.base.spec import load_spec, resolve
from tests.support import auth

SPEC = load_spec().document
READS = [
    op
    for op in load_spec().operations
    if op.method == "GET" and op.path.startswith("/api/v1") and op.id != "export_audit_log_csv"
]
ID_KINDS = {
    "get_lead": "lead",
    "get_call": "call",
    "get_claim": "claim",
    "get_audit_event": "audit_event",
    "get_webhook": "webhook",
    "list_webhook_deliveries": "webhook",
}


def undeclared(schema: dict[str, Any], value: Any, where: str = "") -> list[str]:
    schema = resolve(SPEC, schema)
    for keyword in ("allOf", "anyOf", "oneOf"):
        if keyword in schema and "properties" not in schema:
            branches = [resolve(SPEC, branch) for branch in schema[keyword]]
            objects = [b for b in branches if "properties" in b or b.get("type") == "object"]
            matching = objects if isinstance(value, dict) else [b for b in branches if b not in objects]
            return min((undeclared(b, value, where) for b in matching or branches), key=len)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for name, item in value.items():
            if name in schema["properties"]:
                found += undeclared(schema["properties"][name], item, f"{where}.{name}")
            elif schema.get("additionalProperties") is not True and not isinstance(
                schema.get("additionalProperties"), dict
            ):  # not an object the spec declares open
                found.append(f"{where}.{name}")
    elif isinstance(value, list) and "items" in schema:
        for item in value[:10]:
            found += undeclared(schema["items"], item, f"{where}[]")
    return found


@pytest.fixture
def a_webhook(client, keys) -> str:
    response = client.post(
        "/api/v1/webhooks",
        headers=auth(keys["admin"]),
        json={"url": "http://127.0.0.1:9/hook", "events": ["lead.created"]},
    )
    return str(response.get_json()["id"])


@pytest.mark.parametrize("operation", READS, ids=[op.id for op in READS])
def test_reads_return_only_declared_fields(client, keys, sandbox, a_webhook, operation):
    path = operation.path
    if "{id}" in path:
        kind = ID_KINDS[operation.id]
        record_id = a_webhook if kind == "webhook" else next(sandbox.store.scan(kind, keys["org_id"]))["id"]
        path = path.replace("{id}", record_id)
    token = keys["parent_admin"] if operation.id == "list_organizations" else keys["admin"]
    response = client.get(path, headers=auth(token))
    assert response.status_code == 200, response.get_json()
    schema = operation.responses["200"]["content"]["application/json"]["schema"]
    assert undeclared(schema, response.get_json()) == []


def test_a_created_and_a_patched_lead_return_only_declared_fields(client, keys):
    by_id = {op.id: op for op in load_spec().operations}
    created = client.post(
        "/api/v1/leads",
        headers=auth(keys["write"]),
        json={"name": "Dana Whitfield", "email": "dana@example.com", "company": "Whitfield Roofing"},
    )
    schema = by_id["create_lead"].responses["201"]["content"]["application/json"]["schema"]
    assert undeclared(schema, created.get_json()) == []
    patched = client.patch(
        f"/api/v1/leads/{created.get_json()['id']}", headers=auth(keys["write"]), json={"pipeline_stage": "contacted"}
    )
    schema = by_id["update_lead"].responses["200"]["content"]["application/json"]["schema"]
    assert undeclared(schema, patched.get_json()) == []


def test_the_walker_reports_an_undeclared_field():
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object", "properties": {"a": {}}}},
        },
    }
    assert undeclared(schema, {"id": "x", "extra": 1, "items": [{"a": 1, "b": 2}]}) == [".extra", ".items[].b"]
    assert undeclared({"type": "object"}, {"anything": 1}) == []


@pytest.mark.parametrize("event_type", sorted(SPEC["webhooks"]))
def test_webhook_events_carry_only_declared_fields(client, sandbox, keys, event_type):
    made = client.post("/_sandbox/trigger", json={"event": event_type}, headers=auth(keys["write"]))
    assert made.status_code == 201, made.get_json()
    event = next(e for e in sandbox.store.scan("event", keys["org_id"]) if e["type"] == event_type)
    schema = SPEC["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert undeclared(schema, event) == []
