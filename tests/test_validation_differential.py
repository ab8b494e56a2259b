"""The hot path (compiled jsonschema-rs validators) and openapi-core, the reference validator,
accept and reject the same requests.

Hypothesis generates requests (path, query, header parameters and body) for every operation from
its own schema: mostly plausible values,
mixed with wrong types, out-of-range numbers, bad formats, empty strings, unknown fields and
missing required ones. Each request goes through both validators; the verdicts must agree.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from sandbox.base.errors import ApiError
from sandbox.base.spec import load_spec, resolve
from sandbox.services.validation import RequestValidator
from sandbox.web.app import reference_openapi

SPEC = load_spec().document
OPERATIONS = [op for op in load_spec().operations if op.path.startswith("/api/v1")]
EXAMPLES_PER_OPERATION = 40
verdicts: Counter[str] = Counter()

JUNK_TEXT = st.sampled_from(
    [
        "",
        "abc",
        "-1",
        "0",
        "1",
        "201",
        "99999999999",
        "true",
        "no",
        "null",
        "2026-13-45T00:00:00Z",
        "2026-04-27T19:22:01.118Z",
        "2026-04-27",
        "not-an-email",
        "a@b.co",
        "x" * 300,
        "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
    ]
)
JUNK_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.just({}),
)
DATE_TIMES = ["2026-04-27T19:22:01.118Z", "2026-04-27T19:22:01+02:00", "2026-04-27 19:22", "2026-02-30T00:00:00Z"]


def schema_values(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly-valid JSON for ``schema``, with a share of junk at every level."""
    schema = resolve(SPEC, schema)
    plausible = _plausible(schema, depth)
    return st.one_of(plausible, plausible, plausible, JUNK_JSON)


def _plausible(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for keyword in ("anyOf", "oneOf", "allOf"):
        if keyword in schema and "properties" not in schema:
            return st.one_of([_plausible(resolve(SPEC, s), depth) for s in schema[keyword]])
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds or "properties" in schema:
        return _objects(schema, depth)
    if "array" in kinds:
        return st.lists(schema_values(schema.get("items", {}), depth + 1), max_size=3)
    if "integer" in kinds:
        low, high = schema.get("minimum", -10), schema.get("maximum", 1000)
        return st.integers(low - 2, high + 2)
    if "boolean" in kinds:
        return st.booleans()
    if "number" in kinds:
        return st.floats(-1, 2, allow_nan=False)
    return _strings(schema)


def _strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "email":
        return st.sampled_from(["a@example.com", "sarah.mitchell@example.com", "nope", "a@b", "@x.io"])
    if fmt == "date-time":
        return st.sampled_from(DATE_TIMES)
    if fmt == "uuid":
        return st.sampled_from(["9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18", "9f1c8a32", "not-a-uuid"])
    if fmt == "uri":
        return st.sampled_from(["https://hooks.example.com/eal", "http://127.0.0.1:9/x", "nota url", "ftp:/x"])
    if "pattern" in schema:
        return st.one_of(
            st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) < 80), st.text(max_size=6)
        )
    return st.text(min_size=0, max_size=int(schema.get("maxLength", 20)) + 2)


def _objects(schema: dict[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    if depth > 2 or not properties:
        return st.just({})
    required = set(schema.get("required", []))
    optional = {name: schema_values(s, depth + 1) for name, s in properties.items()}
    drop = st.sets(st.sampled_from(sorted(properties)), max_size=len(properties))
    unknown = st.dictionaries(st.sampled_from(["zz_unknown", "organization_id", "id"]), JUNK_JSON, max_size=1)

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        dropped = draw(drop)
        # Keep required fields most of the time so the deeper rules get exercised too.
        keep_required = draw(st.integers(0, 4)) > 0
        chosen = {
            name: draw(value)
            for name, value in optional.items()
            if name not in dropped or (keep_required and name in required)
        }
        return {**chosen, **draw(unknown)}

    return build()


def query_values(operation: Any) -> st.SearchStrategy[dict[str, str]]:
    params = [p for p in operation.parameters if p.location == "query"]
    return st.fixed_dictionaries({}, optional={p.name: st.one_of(_as_text(p.schema), JUNK_TEXT) for p in params})


def header_values(operation: Any) -> st.SearchStrategy[dict[str, str]]:
    params = [p for p in operation.parameters if p.location == "header"]
    return st.fixed_dictionaries({}, optional={p.name: st.one_of(_as_text(p.schema), JUNK_TEXT) for p in params})


def path_values(operation: Any) -> st.SearchStrategy[dict[str, str]]:
    params = [p for p in operation.parameters if p.location == "path"]
    safe = st.text(st.characters(whitelist_categories=("Ll", "Nd"), whitelist_characters="_-"), min_size=1, max_size=12)
    return st.fixed_dictionaries({p.name: st.one_of(_as_text(p.schema), safe) for p in params})


def _as_text(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    return _plausible(resolve(SPEC, schema), 0).map(lambda v: str(v).lower() if isinstance(v, bool) else str(v))


def request_bodies(operation: Any) -> st.SearchStrategy[Any]:
    if operation.body_schema is None:
        return st.none()
    return st.one_of(st.none(), schema_values(operation.body_schema), schema_values(operation.body_schema))


def hot_path_accepts(
    validator: RequestValidator, path: dict[str, str], query: dict[str, str], headers: dict[str, str], body: Any
) -> bool:
    try:
        validator.check_parameters(path, query, headers)
        validator.check_body(body)
    except ApiError:
        return False
    return True


def reference_accepts(
    operation: Any, path: dict[str, str], query: dict[str, str], headers: dict[str, str], body: Any
) -> bool:
    url = re.sub(r"{(\w+)}", lambda m: quote(path[m.group(1)], safe=""), operation.path)
    builder = EnvironBuilder(
        path=url,
        method=operation.method,
        query_string=urlencode(query),
        headers={"Authorization": "Bearer eal_test_differential", **headers},
        json=body if body is not None else None,
    )
    request = Request(builder.get_environ())
    try:
        reference_openapi().validate_request(WerkzeugOpenAPIRequest(request))
    except Exception:  # any openapi-core validation error is a rejection
        return False
    return True


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_hot_path_agrees_with_openapi_core(operation: Any) -> None:
    validator = RequestValidator(operation, SPEC["components"])

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        path=path_values(operation),
        query=query_values(operation),
        headers=header_values(operation),
        body=request_bodies(operation),
    )
    def agree(path: dict[str, str], query: dict[str, str], headers: dict[str, str], body: Any) -> None:
        mine = hot_path_accepts(validator, path, query, headers, body)
        reference = reference_accepts(operation, path, query, headers, body)
        verdicts["accept" if mine else "reject"] += 1
        assert mine == reference, (
            f"{operation.id}: hot path {'accepts' if mine else 'rejects'} but openapi-core "
            f"{'accepts' if reference else 'rejects'}: path={path} query={query} headers={headers} body={body!r}"
        )

    agree()


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ({}, False),
        ({"name": "Dana"}, False),
        ({"company": "Acme", "source": "yelp"}, False),
        ({"email": "dana@example.com"}, True),
        ({"name": "Dana", "company": "Acme"}, True),
        ({"email": "dana@example.com", "name": "Dana"}, True),
    ],
)
def test_both_validators_enforce_email_or_name_and_company(body: Any, accepted: bool) -> None:
    """LeadCreate's "at least one of" rule (an if/else in the spec) holds on both sides."""
    operation = next(op for op in OPERATIONS if op.id == "create_lead")
    validator = RequestValidator(operation, SPEC["components"])
    assert hot_path_accepts(validator, {}, {}, {}, body) is accepted
    assert reference_accepts(operation, {}, {}, {}, body) is accepted


def test_enough_generated_requests_on_both_sides() -> None:
    """Runs last in this module: the comparison above covered ≥1,000 requests of each verdict mix."""
    total = sum(verdicts.values())
    if total == 0:
        pytest.skip("run together with the differential tests")
    print(f"differential: {total} generated requests, {dict(verdicts)}")
    assert total >= 1000, verdicts
    assert verdicts["accept"] >= 100 and verdicts["reject"] >= 100, verdicts
