"""The plugin's in-process server answers HTTP it cannot parse with the envelope, as gunicorn does."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest


@pytest.mark.parametrize(("request_line", "status", "code"), [
    (b"BR0KEN", 400, "bad_request"),
    (b"GET /api/v1/health HTTP/9.9", 505, "http_version_not_supported"),
])
def test_malformed_http_gets_the_json_envelope(eal_sandbox, request_line, status, code):
    where = urlsplit(eal_sandbox.base_url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as raw:
        raw.sendall(request_line + b"\r\nHost: x\r\n\r\n")
        response = http.client.HTTPResponse(raw)
        response.begin()
        body = json.loads(response.read())
        response.close()
    assert response.status == status and response.getheader("Content-Type") == "application/json"
    assert body["error"]["code"] == code and body["error"]["details"] == {}
