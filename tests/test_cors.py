"""CORS: preflights on every route without a key or quota; headers readable on errors too."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from sandbox.base.spec import load_spec
from sandbox.web.app import sandbox_of
from sandbox.web.cors import ALLOWED_HEADERS, EXPOSED_HEADERS, OriginPolicy
from tests.support import auth, make_app

ORIGIN = "https://partner.example"
OPERATIONS = load_spec().operations
CONTROL_PATHS = ["/docs", "/openapi.json", "/openapi.yaml", "/no/such/route"]


def concrete(path: str) -> str:
    """A spec path with every ``{param}`` filled in."""
    return re.sub(r"\{[^}]+\}", "x_1", path)


def preflight(
    client: FlaskClient, path: str, method: str = "GET", headers: str = "authorization, content-type"
) -> object:
    return client.options(
        path,
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


@pytest.fixture(scope="module")
def raw_client():
    """A client without the contract check (OPTIONS is not an operation in the spec); preflights
    change nothing, so one app serves the whole module."""
    app = make_app()
    yield FlaskClient(app)
    sandbox_of(app).close()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.id)
def test_every_operation_answers_its_preflight(raw_client, operation):
    response = preflight(raw_client, concrete(operation.path), operation.method)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert operation.method in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert all(name.lower() in allowed for name in ALLOWED_HEADERS)
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "WWW-Authenticate" not in response.headers
    assert response.data == b"" and "Content-Type" not in response.headers


@pytest.mark.parametrize("path", CONTROL_PATHS)
def test_paths_outside_the_api_answer_preflights_too(raw_client, path):
    assert preflight(raw_client, path).status_code == 204


def test_sandbox_control_routes_are_covered():
    assert any(op.path.startswith("/_sandbox/") for op in OPERATIONS)
    assert any(op.path.startswith("/api/v1/") for op in OPERATIONS)


def test_a_plain_options_is_204_with_allow_and_the_cors_headers(raw_client):
    response = raw_client.options("/api/v1/leads", headers={"Origin": ORIGIN})
    assert response.status_code == 204 and response.data == b""
    assert "Content-Type" not in response.headers
    assert {"GET", "POST"} <= {method.strip() for method in response.headers["Allow"].split(",")}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_preflights_need_no_key_and_spend_no_quota(keys):
    app = make_app(RATE_LIMIT=2)
    try:
        raw = FlaskClient(app)
        for _ in range(5):
            assert preflight(raw, "/api/v1/leads").status_code == 204
        response = app.test_client().get("/api/v1/leads?limit=1", headers=auth(keys["read"]))
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Remaining"] == "1"
    finally:
        sandbox_of(app).close()


def test_success_exposes_rate_limit_and_request_id_headers(client, keys):
    response = client.get("/api/v1/leads?limit=1", headers={**auth(keys["read"]), "Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == set(EXPOSED_HEADERS)
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-Id"} <= set(
        response.headers.keys()
    )


@pytest.mark.parametrize(
    ("path", "role", "status"),
    [
        ("/api/v1/leads", None, 401),
        ("/api/v1/leads/00000000-0000-4000-8000-000000000000", "read", 404),
        ("/api/v1/nothing-here", "read", 404),
    ],
)
def test_error_envelopes_are_readable_cross_origin(client, keys, path, role, status):
    headers = {"Origin": ORIGIN, **(auth(keys[role]) if role else {})}
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"]
    assert response.get_json()["error"]["code"]


def test_rate_limited_answer_exposes_retry_after(keys):
    app = make_app(RATE_LIMIT=1)
    try:
        client = app.test_client()
        headers = {**auth(keys["read"]), "Origin": ORIGIN}
        client.get("/api/v1/leads?limit=1", headers=headers)
        response = client.get("/api/v1/leads?limit=1", headers=headers)
        assert response.status_code == 429
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
        assert "Retry-After" in response.headers
    finally:
        sandbox_of(app).close()


def test_configured_origins_are_echoed_and_others_refused():
    app = make_app(CORS_ORIGINS="https://a.example, https://b.example/")
    try:
        raw = FlaskClient(app)
        allowed = raw.options(
            "/api/v1/leads", headers={"Origin": "https://b.example", "Access-Control-Request-Method": "GET"}
        )
        assert allowed.status_code == 204
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example"
        assert "Origin" in allowed.headers["Vary"]
        refused = raw.get("/api/v1/health", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in refused.headers
        assert "Origin" in refused.headers["Vary"]
    finally:
        sandbox_of(app).close()


@pytest.mark.parametrize(
    ("setting", "origin", "expected"),
    [
        ("*", "https://x.example", "*"),
        ("", None, "*"),
        ("https://a.example", "https://a.example", "https://a.example"),
        ("https://a.example", "https://b.example", None),
        ("https://a.example", None, None),
        (["https://a.example", "http://localhost:3000"], "http://localhost:3000", "http://localhost:3000"),
    ],
)
def test_origin_policy(setting, origin, expected):
    assert OriginPolicy(setting).allow_origin(origin) == expected
