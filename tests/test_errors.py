"""Every error class answers with the envelope, a stable code and the right status."""

from __future__ import annotations

import pytest

from sandbox.base.redis_lock import LockLost, LockTimeout
from tests.support import auth


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"])
    return body["error"]


def test_unknown_path_is_404_envelope(client, keys):
    response = client.get("/api/v1/nope", headers=auth(keys["read"]))
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/v1//leads", "/api/v1/webhooks//deliveries", "/_sandbox//keys", "//api/v1/health"]
)
def test_a_doubled_slash_is_a_404_envelope_not_a_redirect(client, keys, path):
    # Werkzeug folds "//" into "/" with a 308 and an HTML page by default, and Flask answers routing
    # redirects past the error handlers; /api/v1/webhooks//deliveries would land on webhook "deliveries"
    response = client.get(path, headers=auth(keys["admin"]))
    assert response.status_code == 404, (path, response.status_code, response.headers.get("Location"))
    assert response.mimetype == "application/json"
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("failure", [LockLost("the lock expired before the commit"), LockTimeout("held too long")])
def test_a_sandbox_lock_lost_or_waited_out_is_a_503_to_retry_not_a_500(client, keys, sandbox, monkeypatch, failure):
    # fleet mode: a DELETE of the sandbox (or a stalled holder) racing a write; nothing was written
    def contended(*args, **kwargs):
        raise failure

    monkeypatch.setattr(sandbox.store, "insert", contended)
    response = client.post("/api/v1/leads", json={"email": "raced@example.com"}, headers=auth(keys["write"]))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    error = error_of(response)
    assert error["code"] == "service_unavailable" and type(failure).__name__ in error["message"]


def test_wrong_method_is_405_with_allow(client, keys):
    response = client.put("/api/v1/leads", headers=auth(keys["write"]))
    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"] and "POST" in error["details"]["allowed"]


def test_wrong_media_type_is_415(client, keys):
    response = client.post(
        "/api/v1/leads",
        data="email=a@b.co",
        headers=auth(keys["write"]),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_body_over_one_mebibyte_is_413(client, keys):
    big = '{"name": "' + "x" * (1024 * 1024) + '"}'
    response = client.post("/api/v1/leads", data=big, headers=auth(keys["write"]), content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


@pytest.mark.parametrize("length", ["\u00b2", "9" * 5000, "-1", "12abc"])
def test_a_nonsense_content_length_is_a_4xx_envelope_not_a_500(client, keys, length):
    response = client.post(
        "/api/v1/leads",
        data=b'{"name": "Dana"}',
        headers=auth(keys["write"]),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": length},
    )
    assert 400 <= response.status_code < 500
    error_of(response)


def test_malformed_json_is_400_invalid_json(client, keys):
    response = client.post(
        "/api/v1/leads", data='{"email": ', headers=auth(keys["write"]), content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("limit=500", "query.limit"),
        ("limit=0", "query.limit"),
        ("limit=ten", "query.limit"),
        ("limit=", "query.limit"),
        ("pipeline_stage=banana", "query.pipeline_stage"),
        ("start_at=yesterday", "query.start_at"),
    ],
)
def test_bad_query_names_the_parameter(client, keys, query, location):
    response = client.get(f"/api/v1/leads?{query}", headers=auth(keys["read"]))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert [f["location"] for f in error["details"]["fields"]] == [location]
    assert location in error["message"]


@pytest.mark.parametrize(
    ("body", "locations"),
    [
        ({"email": "not-an-email"}, ["body.email"]),
        ({"name": "Only A Name"}, ["body"]),
        ({"email": "a@example.com", "favourite_color": "teal"}, ["body.favourite_color"]),
        ({"email": "a@example.com", "lead_score": 5}, ["body.lead_score"]),
        ({"email": 7, "pipeline_stage": "banana"}, ["body.email", "body.pipeline_stage"]),
    ],
)
def test_bad_body_lists_every_field(client, keys, body, locations):
    response = client.post("/api/v1/leads", json=body, headers=auth(keys["write"]))
    assert response.status_code == 400
    fields = error_of(response)["details"]["fields"]
    assert sorted(f["location"] for f in fields) == sorted(locations)


def test_patch_rejects_non_whitelisted_fields(client, keys, sandbox):
    lead = next(sandbox.store.scan("lead", keys["org_id"]))
    response = client.patch(f"/api/v1/leads/{lead['id']}", json={"organization_id": "x"}, headers=auth(keys["write"]))
    assert response.status_code == 400
    assert error_of(response)["details"]["fields"][0]["location"] == "body.organization_id"
    assert sandbox.store.get("lead", keys["org_id"], lead["id"]) == lead


def test_tampered_cursor_is_400_invalid_cursor(client, keys):
    response = client.get("/api/v1/leads?cursor=not-a-real-cursor", headers=auth(keys["read"]))
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_cursor"


def test_errors_carry_request_id_and_echo_correlation(client):
    response = client.get("/api/v1/leads", headers={"X-Correlation-Id": "corr_mine"})
    assert response.status_code == 401
    assert response.headers["X-Request-Id"].startswith("req_")
    assert response.headers["X-Correlation-Id"] == "corr_mine"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("patch", "/api/v1/organizations/me"),
        ("delete", "/api/v1/calls/stats"),
        ("post", "/api/v1/audit-log/export.csv"),
    ],
)
def test_static_path_with_wrong_method_is_405_not_a_bad_id(client, keys, method, path):
    response = getattr(client, method)(path, headers=auth(keys["admin"]))
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
