"""Request bodies as the production server hands them over: plain, chunked, kept alive.

The front door reads every body before the app runs and hands it over with a plain
Content-Length; this runs ``eal-sandbox serve`` for real to check both kinds of body arrive whole.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import real_server, send_raw

LEAD = {"name": "Dana Whitfield", "email": "dana.whitfield@example.com", "source": "website"}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[int, str]]:
    with real_server("--leads-per-org", "5") as server:
        yield server.port, server.keys["read,write"]


@pytest.fixture
def connection(served: tuple[int, str]) -> Iterator[http.client.HTTPConnection]:
    opened = http.client.HTTPConnection("127.0.0.1", served[0], timeout=10)
    yield opened
    opened.close()


def post(connection: http.client.HTTPConnection, token: str, body: Any, **headers: str) -> tuple[int, Any]:
    chunked = headers.pop("chunked", None) is not None
    connection.request(
        "POST",
        "/api/v1/leads",
        body=body,
        encode_chunked=chunked,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
    )
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
    status, body = post(
        connection, served[1], json.dumps(LEAD).encode(), **{"Content-Type": "application/json; charset=utf-8"}
    )
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
    status, _, body = send_raw(
        "127.0.0.1",
        port,
        b"POST /api/v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: application/json\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    )
    assert status == 400 and body["error"]["code"] == "bad_request", body
