"""No input makes the sandbox answer 5xx: a property-based test over every operation.

For each operation of the spec, hypothesis builds requests from hostile values — datetimes at the
ends of the calendar and past them in UTC, deep nesting, unicode and control characters, huge and
odd numbers, very long strings — placed in its path and query parameters, its JSON body (the
schema's own field names and strangers) and its header parameters. Every answer must be below 500,
and every 4xx the error envelope. (schemathesis, elsewhere, covers what the schemas allow; this
covers what they do not.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.base.spec import load_spec, resolve
from sandbox.web.app import runtime_of, sandbox_of
from tests.support import make_app

SPEC = load_spec()
OPERATIONS = SPEC.operations
EXTREME_TIMES = [
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-12-01T24:00:00Z",
    "2026-12-01T00:00:00.123456789+14:00",
    "1970-01-01T00:00:00-00:00",
]
STRINGS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e309",
            "NaN",
            "null",
            "true",
            "Ò",
            "\u202e",
            "\x00",
            "\t",
            "%00",
            "../../etc/passwd",
            "eal_test_" + "a" * 32,
            "eal_live_x",
            "sbx_nope",
            "evt_nope",
            "whd_nope",
            "00000000-0000-0000-0000-000000000000",
            "http://[127.0.0.1]/h",
            "http://127.0.0.1:1\t/x",
            "https://169.254.169.254/",
            "javascript:alert(1)",
            "😀" * 64,
            "a" * 5000,
            "9" * 400,
            *EXTREME_TIMES,
        ]
    ),
    st.text(max_size=40),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 2**63, 1e308]),
)
SCALARS = st.one_of(STRINGS, NUMBERS, st.booleans(), st.none())


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value] if depth % 2 else {"a": value}
    return value


HOSTILE = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=4),
    st.dictionaries(st.text(max_size=8), SCALARS, max_size=4),
    st.sampled_from([nested(40), nested(300), nested(1500)]),
)
URLS = st.sampled_from(
    [
        "http://[127.0.0.1]/h",
        "http://127.0.0.1:18501\t/ok",
        "http://127.0.0.1:9/h",
        "https://example.com/hook",
        "http://[::1]:9/h",
        "http://localhost:99999/",
        "http://x/Ò",
        "https://169.254.169.254/latest",
        "ftp://example.com/",
        "http://10.0.0.1/h",
    ]
)
FORMATS = {
    "date-time": st.sampled_from(EXTREME_TIMES + ["2026-11-02T15:30:00Z", "2027-06-30T00:00:00Z"]),
    "uri": URLS,
    "email": st.sampled_from(["a@example.com", "Ò@example.com", "a@b", "x" * 300 + "@e.com"]),
    "uuid": st.uuids().map(str),
}


def from_schema(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped like ``schema`` (so they get past validation to the code behind it), each
    edge-heavy, and now and then a hostile value of any shape instead."""
    schema = resolve(SPEC.document, schema) if isinstance(schema, dict) else {}
    shaped = _shaped(schema, depth)
    return st.one_of(shaped, shaped, shaped, HOSTILE)


def _shaped(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if depth > 4:
        return SCALARS
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return st.one_of(*[from_schema(branch, depth + 1) for branch in schema[keyword]])
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = [name for name in schema.get("required", []) if name in properties]
        optional = {name: from_schema(value, depth + 1) for name, value in properties.items() if name not in required}
        return st.fixed_dictionaries(
            {name: from_schema(properties[name], depth + 1) for name in required}, optional=optional
        )
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), depth + 1), max_size=3)
    if kind == "integer":
        low, high = schema.get("minimum", -(2**40)), schema.get("maximum", 2**40)
        return st.one_of(st.integers(low, high), st.sampled_from([low, high, low - 1, high + 1, 2**63]))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        if schema.get("format") in FORMATS:
            return FORMATS[schema["format"]]
        if "pattern" in schema:
            return st.one_of(st.from_regex(schema["pattern"], fullmatch=True), STRINGS)
        return STRINGS
    return SCALARS


def bodies(operation: Any) -> st.SearchStrategy[Any]:
    return from_schema(operation.body_schema or {})


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    made = make_app(
        LEADS_PER_ORG=10,
        MAX_SEEDED_WORLDS=2,
        RATE_LIMIT=10**9,
        KEYLESS_REQUESTS_PER_MINUTE=10**9,
        SANDBOX_CREATIONS_PER_MINUTE=10**9,
        STREAM_LIFETIME=0.05,
    )  # each call to the event stream ends, after its first messages
    yield made
    runtime_of(made).close()


def keys_for(app: Flask) -> dict[str, str]:
    world = sandbox_of(app).world
    return {
        scope: next(k["token"] for k in world.keys if k["organization_id"] == org and k["scopes"][-1] == "admin")
        for scope, org in (("child", world.child_org_ids[0]), ("parent", world.parent_org_id))
    }


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.id)
def test_no_input_makes_a_server_error(app: Flask, operation: Any) -> None:
    client, keys = app.test_client(), keys_for(app)
    params = [p for p in operation.parameters if p.location in ("path", "query")]
    headers = [p.name for p in operation.parameters if p.location == "header"]

    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        values=st.fixed_dictionaries({p.name: from_schema(p.schema) for p in params}),
        body=bodies(operation),
        header_values=st.fixed_dictionaries({name: STRINGS for name in headers}),
        correlation=st.one_of(st.none(), STRINGS),
        parent=st.booleans(),
    )
    def check(
        values: dict[str, Any], body: Any, header_values: dict[str, str], correlation: str | None, parent: bool
    ) -> None:
        path = operation.path
        query = []
        for parameter in params:
            text = "" if values[parameter.name] is None else str(values[parameter.name])
            if parameter.location == "path":
                path = path.replace("{" + parameter.name + "}", quote(text, safe="") or "x")
            else:
                query.append(f"{quote(parameter.name)}={quote(text, safe='')}")
        sent = {"Authorization": f"Bearer {keys['parent' if parent else 'child']}"}
        sent.update({name: value for name, value in header_values.items() if value.isascii() and "\n" not in value})
        if correlation is not None and correlation.isascii() and "\n" not in correlation and "\r" not in correlation:
            sent["X-Correlation-Id"] = correlation
        response = client.open(
            path,
            method=operation.method,
            query_string="&".join(query),
            headers=sent,
            json=body if operation.body_schema is not None else None,
        )
        assert response.status_code < 500, (operation.id, response.status_code, response.get_data(as_text=True)[:400])
        if response.status_code >= 400:
            error = (response.get_json(silent=True) or {}).get("error", {})
            assert {"code", "message", "details"} <= set(error), (operation.id, response.get_data(as_text=True)[:300])

    check()
    sandbox_of(app).reset()
