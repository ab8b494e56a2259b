"""The front door, run for real: how it starts, what it refuses, and that it never answers in HTML.

Malformed HTTP is answered by one of two layers. What granian's HTTP core cannot parse at all (a
bad request line, a bad Content-Length, a head over its 64 KiB buffer, more than 100 header
fields) gets a bare status with an empty body: the core writes it and no code of ours runs. What it
parses but the API refuses (a long URI, large headers, a body that cannot be decoded) gets the
JSON envelope.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.support import CLI, RealServer, real_server, send_raw

HEAD = b"\r\nHost: x\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[RealServer]:
    with real_server("--leads-per-org", "5") as running:
        yield running


def test_port_zero_prints_the_port_really_bound(server: RealServer) -> None:
    status, content_type, body = send_raw("127.0.0.1", server.port, b"GET /api/v1/health HTTP/1.1" + HEAD + b"\r\n")
    assert (status, content_type, body["status"]) == (200, "application/json", "ok")
    assert server.output[1] == f"Spec: http://127.0.0.1:{server.port}/openapi.yaml\n"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--port", "{busy}"], id="busy-port"),
        pytest.param(["--port", "70000"], id="port-out-of-range"),
        pytest.param(["--host", "host.invalid"], id="unknown-host"),
        pytest.param(["--host", "192.0.2.1"], id="address-not-ours"),
    ],
)
def test_a_port_it_cannot_listen_on_is_one_line_and_exit_2(args: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        argv = [arg.format(busy=taken.getsockname()[1]) for arg in args]
        result = subprocess.run([str(CLI), "serve", *argv], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("eal-sandbox serve: cannot listen on ")


@pytest.mark.parametrize(
    ("request_head", "status", "code"),
    [
        (b"GET /api/v1/leads?" + b"a=b&" * 2100 + b" HTTP/1.1" + HEAD, 414, "uri_too_long"),
        (
            b"GET /api/v1/health HTTP/1.1" + HEAD + b"X-A: " + b"a" * 9000 + b"\r\nX-B: " + b"b" * 9000 + b"\r\n",
            431,
            "request_header_fields_too_large",
        ),
        (
            b"POST /api/v1/leads HTTP/1.1" + HEAD + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"\r\nzz\r\nabc\r\n0\r\n",
            400,
            "bad_request",
        ),
        (
            b"POST /api/v1/leads HTTP/1.1" + HEAD + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b'\r\n3\r\n{"a\r\nzz\r\n0\r\n',
            400,
            "bad_request",
        ),
    ],
    ids=["uri-over-8-KiB", "headers-over-16-KiB", "bad-first-chunk", "bad-later-chunk"],
)
def test_what_the_api_refuses_gets_the_envelope(
    server: RealServer, request_head: bytes, status: int, code: str
) -> None:
    answered, content_type, body = send_raw("127.0.0.1", server.port, request_head + b"\r\n")
    assert (answered, content_type) == (status, "application/json")
    assert body["error"]["code"] == code and body["error"]["message"] and body["error"]["details"] == {}


def test_a_body_declared_over_8_MiB_is_refused_unread(server: RealServer) -> None:
    token = server.keys["read,write"].encode()
    answered, content_type, body = send_raw(
        "127.0.0.1",
        server.port,
        b"POST /api/v1/leads HTTP/1.1" + HEAD + b"Authorization: Bearer " + token + b"\r\nContent-Type: "
        b"application/json\r\nContent-Length: 50000000\r\n\r\n{",
    )
    assert (answered, content_type, body["error"]["code"]) == (413, "application/json", "payload_too_large")


def test_a_body_over_1_MiB_is_read_and_dropped_so_the_connection_stays_usable(server: RealServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Authorization": f"Bearer {server.keys['read,write']}", "Content-Type": "application/json"}
    connection.request("POST", "/api/v1/leads", body=b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}', headers=headers)
    too_large = connection.getresponse()
    assert (too_large.status, json.loads(too_large.read())["error"]["code"]) == (413, "payload_too_large")
    connection.request("GET", "/api/v1/health")
    assert connection.getresponse().status == 200  # the same connection
    connection.close()


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"BR0KEN" + HEAD, 400),
        (b"GET /api/v1/health HTTP/9.9" + HEAD, 400),
        (b"POST /api/v1/leads HTTP/1.1" + HEAD + b"Content-Length: abc\r\n", 400),
        (b"POST /api/v1/leads HTTP/1.1" + HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n", 400),
        (b"GET /api/v1/health HTTP/1.1" + HEAD + b"Bad Header Line\r\n", 400),
        (b"GET /api/v1/leads?" + b"a" * 70_000 + b" HTTP/1.1" + HEAD, 414),
        (b"GET /api/v1/health HTTP/1.1" + HEAD + b"X-Big: " + b"a" * 200_000 + b"\r\n", 431),
        (b"GET /api/v1/health HTTP/1.1" + HEAD + b"".join(b"X-H%d: v\r\n" % n for n in range(120)), 431),
    ],
    ids=[
        "bad-request-line",
        "unknown-version",
        "bad-content-length",
        "two-content-lengths",
        "bad-header-line",
        "uri-over-the-core-buffer",
        "head-over-the-core-buffer",
        "over-100-headers",
    ],
)
def test_what_the_http_core_rejects_is_a_bare_status(server: RealServer, request_head: bytes, status: int) -> None:
    answered, content_type, body = send_raw("127.0.0.1", server.port, request_head + b"\r\n")
    assert (answered, content_type, body) == (status, None, None)


def test_sigterm_stops_it_cleanly() -> None:
    process = subprocess.Popen(
        [str(CLI), "serve", "--port", "0", "--leads-per-org", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()  # printed once the socket is bound and the app built
    port = int(banner.split("127.0.0.1:")[1].split("/")[0])
    status, _, _ = send_raw("127.0.0.1", port, b"GET /api/v1/health HTTP/1.1" + HEAD + b"\r\n")
    process.terminate()
    _, stderr = process.communicate(timeout=30)
    assert (status, process.returncode, stderr) == (200, 0, "")
