"""The plugin's in-process server answers HTTP it cannot parse with the envelope (never HTML)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.support import send_raw


@pytest.mark.parametrize(
    ("request_line", "status", "code"),
    [
        (b"BR0KEN", 400, "bad_request"),
        (b"GET /api/v1/health HTTP/9.9", 505, "http_version_not_supported"),
        (b"GET /api/v1/leads?" + b"a" * 70_000 + b" HTTP/1.1", 414, "uri_too_long"),  # werkzeug says "Request-URI"
    ],
)
def test_malformed_http_gets_the_json_envelope(eal_sandbox, request_line, status, code):
    where = urlsplit(eal_sandbox.base_url)
    answered, content_type, body = send_raw(
        str(where.hostname), int(where.port or 80), request_line + b"\r\nHost: x\r\n\r\n"
    )
    assert (answered, content_type) == (status, "application/json")
    assert body["error"]["code"] == code and body["error"]["details"] == {}
