"""Request bodies as the production server (gunicorn) hands them over: plain, chunked, kept alive.

The router reads a body with a plain Content-Length straight from the server's input and lets
werkzeug handle everything else; this runs ``eal-sandbox serve`` for real to check both paths.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import send_raw

LEAD = {"name": "Dana Whitfield", "email": "dana.whitfield@example.com", "source": "website"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[int, str]]:
    port = _free_port()
    cli = Path(sys.executable).parent / "eal-sandbox"
    process = subprocess.Popen([str(cli), "serve", "--port", str(port), "--leads-per-org", "5"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    token = None
    deadline = time.monotonic() + 60
    while token is None and time.monotonic() < deadline:
        match = re.search(r"(eal_test_\w+)\s+read,write\s", process.stdout.readline())
        token = match.group(1) if match else None
    assert token, "the server printed no read,write key"
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, token
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


@pytest.fixture
def connection(served: tuple[int, str]) -> Iterator[http.client.HTTPConnection]:
    opened = http.client.HTTPConnection("127.0.0.1", served[0], timeout=10)
    yield opened
    opened.close()


def post(connection: http.client.HTTPConnection, token: str, body: Any, **headers: str) -> tuple[int, Any]:
    chunked = headers.pop("chunked", None) is not None
    connection.request("POST", "/api/v1/leads", body=body, encode_chunked=chunked,
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_bodies_with_a_length_are_read_exactly_on_a_kept_alive_connection(served, connection):
    token = served[1]
    names = [f"Lead {n}" for n in range(3)]
    for name in names:  # the same connection: each body must be consumed exactly, no more, no less
        status, body = post(connection, token, json.dumps({**LEAD, "name": name}).encode())
        assert (status, body["name"]) == (201, name)


def test_a_chunked_body_is_read_too(served, connection):
    parts = iter([b'{"name": "Chunked Lead", ', b'"email": "chunked@example.com"}'])
    status, body = post(connection, served[1], parts, chunked="yes")
    assert (status, body["name"]) == (201, "Chunked Lead")


def test_a_charset_parameter_is_still_json(served, connection):
    status, body = post(connection, served[1], json.dumps(LEAD).encode(),
                        **{"Content-Type": "application/json; charset=utf-8"})
    assert status == 201 and body["email"] == LEAD["email"]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_one_mebibyte_is_413_either_way(served, connection, chunked):
    big = json.dumps({**LEAD, "name": "x" * (1024 * 1024)}).encode()
    payload: Any = iter([big[:1000], big[1000:]]) if chunked else big
    status, body = post(connection, served[1], payload, **({"chunked": "yes"} if chunked else {}))
    assert status == 413 and body["error"]["code"] == "payload_too_large", body


def test_form_bodies_are_415_and_empty_bodies_a_validation_error(served, connection):
    token = served[1]
    status, body = post(connection, token, b"name=Dana", **{"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    status, body = post(connection, token, b"", **{"Content-Length": "0"})
    assert status == 400 and body["error"]["details"]["fields"][0]["location"] == "body"


def test_a_malformed_chunked_body_is_a_400_envelope(served):
    port, token = served
    status, _, body = send_raw("127.0.0.1", port, b"POST /api/v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                               + token.encode() + b"\r\nContent-Type: application/json\r\n"
                               + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    assert status == 400 and body["error"]["code"] == "bad_request", body


@pytest.mark.parametrize(("request_line", "status", "code"), [
    (b"GET /api/v1/leads?" + b"a=b&" * 2000 + b" HTTP/1.1", 414, "uri_too_long"),
    (b"GET /api/v1/leads HTTP/9.9", 400, "bad_request"),
    (b"BR0KEN", 400, "bad_request"),
])
def test_http_the_server_cannot_parse_still_gets_the_envelope(served, request_line, status, code):
    answered, content_type, body = send_raw("127.0.0.1", served[0], request_line + b"\r\nHost: x\r\n\r\n")
    assert (answered, content_type) == (status, "application/json")
    assert body["error"]["code"] == code and body["error"]["message"] and body["error"]["details"] == {}
