"""The contract itself: ``openapi.yaml`` is a valid OpenAPI 3.1 document, pins the 39 v1 operations
(each routable: one operationId, one tag, a required scope), and every example embedded in it —
request bodies, responses, webhook payloads — validates against its own schema."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import FormatChecker
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from sandbox.base.spec import resolve as resolve_in

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCOPES = {"none", "read", "write", "admin"}
MIN_EXAMPLES = 40


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc) and " " not in value


FORMATS = copy.deepcopy(OAS31Validator.FORMAT_CHECKER)
if "uri" not in FORMATS.checkers:  # jsonschema only checks "uri" when rfc3987 is installed
    FormatChecker.checks(FORMATS, "uri")(_is_uri)


def resolve(node: Any) -> Any:
    """Follow local ``#/...`` references until a real node."""
    return resolve_in(SPEC, node)


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _media_examples(prefix: str, content: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    for media_type, media in content.items():
        label = prefix if media_type == "application/json" else f"{prefix}-{media_type.replace('/', '_')}"
        schema = media.get("schema")
        if "example" in media:
            yield label, media["example"], schema
        for name, example in (media.get("examples") or {}).items():
            example = resolve(example)
            if "value" in example:
                yield f"{label}-{name}", example["value"], schema


def embedded_examples() -> list[tuple[str, Any, Any]]:
    """(test id, example, schema) for every example on a request body, response or webhook payload."""
    found: list[tuple[str, Any, Any]] = []
    for _path, _method, op in operations():
        body = op.get("requestBody")
        if body and "$ref" not in body:
            found += _media_examples(f"{op['operationId']}-request", body.get("content", {}))
        for status, response in op.get("responses", {}).items():
            if "$ref" not in response:  # shared responses are collected once, below
                found += _media_examples(f"{op['operationId']}-{status}", response.get("content", {}))
    for name, response in SPEC.get("components", {}).get("responses", {}).items():
        found += _media_examples(f"components-{name}", response.get("content", {}))
    for name, body in SPEC.get("components", {}).get("requestBodies", {}).items():
        found += _media_examples(f"components-{name}-request", body.get("content", {}))
    for _event, item in SPEC.get("webhooks", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                hook = item[method]
                body = resolve(hook.get("requestBody") or {})
                found += _media_examples(f"{hook['operationId']}-request", body.get("content", {}))
    return found


EXAMPLES = embedded_examples()


def test_spec_is_valid_openapi_31() -> None:
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)


def test_pins_the_39_v1_operations() -> None:
    v1 = [(path, method, op) for path, method, op in operations() if path.startswith("/api/v1/")]
    assert len(v1) == 39
    ids = [op.get("operationId") for _, _, op in v1]
    assert len(set(ids)) == 39, "operationIds must be unique"
    declared_tags = {tag["name"] for tag in SPEC["tags"]}
    for path, method, op in v1:
        where = f"{method.upper()} {path}"
        assert op.get("operationId", "").isidentifier() and op["operationId"].islower(), where
        assert len(op.get("tags", [])) == 1, where
        assert op["tags"][0] in declared_tags and op["tags"][0].replace("-", "_").isidentifier(), where
        assert op.get("x-required-scope") in SCOPES, where
        assert op.get("description"), where


def test_only_health_is_open() -> None:
    for path, method, op in operations():
        if path.startswith("/api/v1/"):
            open_ = op["x-required-scope"] == "none"
            assert open_ == (path == "/api/v1/health"), f"{method.upper()} {path}"
            assert ("403" not in op["responses"]) == open_, f"{method.upper()} {path}"


def test_every_list_is_paginated() -> None:
    for path, method, op in operations():
        if not path.startswith("/api/v1/"):
            continue
        success = next(resolve(r) for code, r in op["responses"].items() if code.startswith("2"))
        schema = resolve(success.get("content", {}).get("application/json", {}).get("schema"))
        if isinstance(schema, dict) and {"data", "next_cursor"} <= set(schema.get("properties", {})):
            names = {resolve(p)["name"] for p in op.get("parameters", [])}
            assert {"limit", "cursor"} <= names, f"{method.upper()} {path}"


def test_request_bodies_are_strict() -> None:
    for path, method, op in operations():
        if path.startswith("/api/v1/") and "requestBody" in op:
            schema = resolve(op["requestBody"]["content"]["application/json"]["schema"])
            assert schema.get("additionalProperties") is False, f"{method.upper()} {path}"


def test_enough_examples_are_embedded() -> None:
    assert len(EXAMPLES) >= MIN_EXAMPLES, [name for name, _, _ in EXAMPLES]
    names = [name for name, _, _ in EXAMPLES]
    assert len(names) == len(set(names)), "example ids must be unique"


@pytest.mark.parametrize(("example", "schema"), [(e, s) for _, e, s in EXAMPLES], ids=[name for name, _, _ in EXAMPLES])
def test_example_matches_its_schema(example: Any, schema: Any) -> None:
    assert schema is not None, "an example without a schema"
    # Local "#/components/..." references resolve against the document root, so carry the components along.
    rooted = {**schema, "components": SPEC["components"]}
    OAS31Validator(rooted, format_checker=FORMATS).validate(example)


def test_the_inline_scenario_requires_what_the_loader_requires() -> None:
    from sandbox.services.scenarios.schema import SCENARIO_SCHEMA

    body = SPEC["paths"]["/_sandbox/scenarios/active"]["post"]["requestBody"]["content"]["application/json"]
    inline = body["schema"]["properties"]["scenario"]
    assert inline["required"] == SCENARIO_SCHEMA["required"]
    assert set(inline["properties"]) == set(SCENARIO_SCHEMA["properties"])
    assert inline["additionalProperties"] is SCENARIO_SCHEMA["additionalProperties"] is False
    for name in ("version", "name", "description"):
        assert inline["properties"][name] == SCENARIO_SCHEMA["properties"][name], name
