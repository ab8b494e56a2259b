"""The two served documents, cut from the one openapi.yaml: /openapi.json|yaml is the v1 API as
partners meet it in production (no control plane), /_sandbox/openapi.json|yaml the control plane.
Both are valid OpenAPI 3.1 on their own: every reference resolves inside the document."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from sandbox.base.spec import control_document, is_control_path, load_spec, operations, v1_document

SPEC = load_spec().copy()
DOCUMENTS = {"/openapi": v1_document(SPEC), "/_sandbox/openapi": control_document(SPEC)}


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(value) for value in node))
    return set()


@pytest.mark.parametrize("prefix", DOCUMENTS)
def test_both_forms_are_served_and_agree(app, prefix):
    plain = app.test_client()
    as_json = plain.get(f"{prefix}.json")
    as_yaml = plain.get(f"{prefix}.yaml")
    assert as_json.mimetype == "application/json" and as_yaml.mimetype == "application/yaml"
    assert as_json.get_json() == yaml.safe_load(as_yaml.get_data(as_text=True)) == DOCUMENTS[prefix]


@pytest.mark.parametrize("prefix", DOCUMENTS)
def test_each_document_is_valid_and_self_contained(prefix):
    document = DOCUMENTS[prefix]
    validate(document)
    for ref in refs(document):
        kind, name = ref.removeprefix("#/components/").split("/")[:2]
        assert name in document["components"][kind], ref
    used = refs(document)
    for kind, entries in document["components"].items():
        if kind != "securitySchemes":
            assert {f"#/components/{kind}/{name}" for name in entries} <= used, f"unused {kind}"


def test_the_v1_document_is_the_39_operations_and_their_webhooks():
    document = DOCUMENTS["/openapi"]
    v1 = [op for op in operations(document)]
    assert len(v1) == 39 and all(op.path.startswith("/api/v1/") for op in v1)
    assert set(document["webhooks"]) == set(SPEC["webhooks"])
    assert "ScenarioRun" not in document["components"]["schemas"]
    assert {tag["name"] for tag in document["tags"]} == {op.tag for op in v1}
    assert "x-control-plane-info" not in document


def test_the_control_plane_is_every_sandbox_path_and_nothing_else():
    document = DOCUMENTS["/_sandbox/openapi"]
    control = operations(document)
    assert {op.id for op in control} == {op.id for op in operations(SPEC) if op.is_control}
    assert all(op.tag.startswith("sandbox-") for op in control)
    assert "webhooks" not in document
    assert "Lead" not in document["components"]["schemas"]
    assert document["info"]["title"] != SPEC["info"]["title"]


def test_a_new_control_path_lands_in_the_control_document_by_its_prefix():
    spec = load_spec().copy()
    spec["paths"]["/_sandbox/sandboxes"] = {
        "get": {
            "operationId": "list_sandboxes",
            "tags": ["sandbox-sandboxes"],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
        }
    }
    assert "/_sandbox/sandboxes" in control_document(spec)["paths"]
    assert "/_sandbox/sandboxes" not in v1_document(spec)["paths"]
    assert is_control_path("/_sandbox/sandboxes") and not is_control_path("/api/v1/leads")
