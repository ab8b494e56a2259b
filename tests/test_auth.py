"""Keys, scopes, live-key refusal, tenant isolation and rate-limit headers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.web.app import runtime_of, sandbox_of
from tests.support import auth, make_app

pytestmark = pytest.mark.both_stores


def test_missing_key_is_401_with_www_authenticate(client):
    response = client.get("/api/v1/leads")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer sk_test_123", "Bearer eal_test_unknown"])
def test_malformed_or_unknown_key_is_401(client, header):
    response = client.get("/api/v1/leads", headers={"Authorization": header})
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_live_key_is_refused_as_not_the_sandbox(client):
    response = client.get("/api/v1/leads", headers=auth("eal_live_a1b2c3d4e5f6"))
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "live_key_refused"
    assert "sandbox" in error["message"].lower()


@pytest.mark.parametrize(
    ("role", "method", "path", "scope"),
    [
        ("read", "post", "/api/v1/leads", "write"),
        ("write", "post", "/api/v1/webhooks", "admin"),
        ("write", "get", "/api/v1/organizations", "admin"),
    ],
)
def test_missing_scope_is_403_naming_it(client, keys, role, method, path, scope):
    response = getattr(client, method)(path, json={}, headers=auth(keys[role]))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "forbidden"
    assert error["details"]["required_scope"] == scope
    assert f"'{scope}'" in error["message"]


@pytest.mark.parametrize("role", ["read", "write", "admin"])
def test_each_scope_reads(client, keys, role):
    assert client.get("/api/v1/leads", headers=auth(keys[role])).status_code == 200


def test_health_without_key_is_plain(client):
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok" and "tenant_id" not in body


def test_health_with_key_names_tenant_and_scopes(client, keys):
    body = client.get("/api/v1/health", headers=auth(keys["write"])).get_json()
    assert body["tenant_id"] == keys["org_id"]
    assert body["environment"] == "test"
    assert body["scopes"] == ["read", "write"]
    assert isinstance(body["rate_limit_remaining"], int)


def test_other_tenants_lead_is_404_not_403(client, keys, sandbox):
    theirs = next(sandbox.store.scan("lead", keys["other_org_id"]))
    response = client.get(f"/api/v1/leads/{theirs['id']}", headers=auth(keys["read"]))
    assert response.status_code == 404
    response = client.patch(f"/api/v1/leads/{theirs['id']}", json={"lead_score": 1}, headers=auth(keys["write"]))
    assert response.status_code == 404


def test_rate_limit_headers_and_429_with_retry_after():
    app = make_app(RATE_LIMIT=3)
    client = app.test_client()
    sandbox = sandbox_of(app)
    token = sandbox.world.keys[0]["token"]
    seen = [client.get("/api/v1/health", headers=auth(token)) for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in seen[:3]] == ["2", "1", "0"]
    assert seen[0].headers["X-RateLimit-Limit"] == "3"
    assert int(seen[3].headers["Retry-After"]) >= 1
    assert seen[3].get_json()["error"]["code"] == "rate_limited"
    sandbox.clock.advance(timedelta(seconds=61))
    assert client.get("/api/v1/health", headers=auth(token)).status_code == 200
    runtime_of(app).close()


# Keyless means keyless: an operation declared `security: [{}]` never looks at a sent key, so it
# cannot answer a 401; /health and the clock offer the key as an option (`[{}, bearerAuth]`) and
# check one that is sent.
BAD_KEYS = ["Bearer eal_test_unknown", "Bearer eal_live_a1b2c3d4e5f6", "Basic abc"]


@pytest.mark.parametrize("header", BAD_KEYS)
@pytest.mark.parametrize("path", ["/_sandbox/keys"])
def test_keyless_operations_ignore_any_key(client, path, header):
    response = client.get(path, headers={"Authorization": header})
    assert response.status_code == 200, response.get_json()
    assert "X-RateLimit-Remaining" not in response.headers  # no key was read, so none was charged


@pytest.mark.parametrize("header", BAD_KEYS)
def test_signed_files_are_authorized_by_their_signature_alone(client, keys, header):
    call_id = client.get("/api/v1/calls?limit=1", headers=auth(keys["read"])).get_json()["data"][0]["id"]
    recording = client.get(f"/api/v1/calls/{call_id}", headers=auth(keys["read"])).get_json()["recording_url"]
    response = client.get(recording.removeprefix("http://localhost"), headers={"Authorization": header})
    assert response.status_code == 200 and response.mimetype == "audio/wav"


@pytest.mark.parametrize("header", BAD_KEYS)
@pytest.mark.parametrize("path", ["/api/v1/health", "/_sandbox/clock"])
def test_an_optional_key_that_is_sent_is_checked(client, path, header):
    assert client.get(path, headers={"Authorization": header}).status_code == 401
    assert client.get(path).status_code == 200


def test_the_spec_says_which_operations_read_a_key():
    from sandbox.base.spec import load_spec

    for operation in load_spec().operations:
        documented_401 = "401" in operation.responses
        assert documented_401 == operation.reads_key, operation.id
        if operation.scope is None:
            assert operation.raw.get("security") in ([{}], [{}, {"bearerAuth": []}]), operation.id
