"""The front door's admission and WSGI environ, driven with stand-ins for granian's request objects
(tests/server/test_serve.py and test_slow_clients.py drive the real server)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from sandbox.server.bridge import Limits, ThreadedWsgi


class Headers:
    """granian's RSGI headers: a multimap with lowercase names."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def __contains__(self, name: str) -> bool:
        return any(key == name for key, _ in self._pairs)

    def __getitem__(self, name: str) -> str:
        return next(value for key, value in self._pairs if key == name)

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((value for key, value in self._pairs if key == name), default)


class Scope:
    def __init__(
        self,
        path: str = "/api/v1/health",
        query: str = "",
        method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.path, self.query_string, self.method = path, query, method
        self.headers = Headers(headers or [("host", "sandbox.test")])
        self.server, self.client, self.scheme, self.http_version, self.authority = (
            "127.0.0.1:4010",
            "127.0.0.1:50000",
            "http",
            "1.1",
            None,
        )


class Proto:
    def __init__(self) -> None:
        self.answers: list[tuple[int, list[tuple[str, str]], bytes]] = []
        self.answered = threading.Event()

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.answers.append((status, headers, body))
        self.answered.set()


class Watcher:
    def __init__(self, scope: Scope) -> None:
        self.scope, self.proto = scope, Proto()


def never_called(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    raise AssertionError("the app must not run")


def code_of(proto: Proto) -> tuple[int, str]:
    status, _, body = proto.answers[0]
    return status, json.loads(body)["error"]["code"]


def test_requests_over_the_in_flight_cap_get_a_503_envelope() -> None:
    front = ThreadedWsgi(never_called, threads=1, limits=Limits(max_in_flight=2))  # threads not started
    watchers = [Watcher(Scope()) for _ in range(3)]
    for watcher in watchers:
        front.schedule(watcher)
    assert [w.proto.answers for w in watchers[:2]] == [[], []]  # queued for the app threads
    assert code_of(watchers[2].proto) == (503, "service_unavailable")
    assert ("retry-after", "1") in watchers[2].proto.answers[0][1]


@pytest.mark.parametrize(
    ("scope", "status", "code"),
    [
        (Scope(query="a=" + "b" * 9000), 414, "uri_too_long"),
        (
            Scope(headers=[("host", "x"), ("x-a", "a" * 9000), ("x-b", "b" * 9000)]),
            431,
            "request_header_fields_too_large",
        ),
    ],
)
def test_a_long_uri_or_large_headers_are_refused_before_the_app(scope: Scope, status: int, code: str) -> None:
    watcher = Watcher(scope)
    ThreadedWsgi(never_called, threads=1, limits=Limits()).schedule(watcher)
    assert code_of(watcher.proto) == (status, code)


def test_the_environ_is_pep_3333() -> None:
    front = ThreadedWsgi(never_called, threads=1, limits=Limits())
    scope = Scope(
        path="/api/v1/leads/caf\u00e9",
        query="limit=2",
        method="POST",
        headers=[
            ("host", "sandbox.test:4010"),
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("x-tag", "a"),
            ("x-tag", "b"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
        ],
    )
    environ = front.environ(scope, b"{}")
    assert environ["PATH_INFO"] == "/api/v1/leads/caf\u00e9".encode().decode("latin-1")  # bytes as latin-1
    assert (environ["REQUEST_METHOD"], environ["QUERY_STRING"]) == ("POST", "limit=2")
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"], environ["wsgi.input"].read()) == (
        "application/json",
        "2",
        b"{}",
    )
    assert (environ["HTTP_X_TAG"], environ["HTTP_COOKIE"]) == ("a,b", "a=1; b=2")
    assert (environ["HTTP_HOST"], environ["SERVER_NAME"], environ["SERVER_PORT"]) == (
        "sandbox.test:4010",
        "127.0.0.1",
        "4010",
    )
    assert "HTTP_CONTENT_LENGTH" not in environ and "HTTP_CONTENT_TYPE" not in environ


def test_a_body_declared_over_the_cap_is_handed_over_unread_with_its_length() -> None:
    front = ThreadedWsgi(never_called, threads=1, limits=Limits())
    environ = front.environ(Scope(method="POST", headers=[("content-length", "5000000")]), None)
    assert (environ["CONTENT_LENGTH"], environ["wsgi.input"].read()) == ("5000000", b"")


def test_a_request_with_a_body_is_read_on_the_loop_then_answered_by_an_app_thread() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("201 CREATED", [("Content-Type", "application/json")])
        return [b'{"ok": true}']

    class BodyProto(Proto):
        def __call__(self) -> asyncio.Future[bytes]:  # granian's body future: collected on its runtime
            body = asyncio.get_running_loop().create_future()
            body.set_result(b'{"name": "x"}')
            return body

    async def scenario() -> BodyProto:
        front = ThreadedWsgi(app, threads=1, limits=Limits())
        front.start(asyncio.get_running_loop())
        watcher = Watcher(Scope(method="POST", headers=[("content-length", "13")]))
        watcher.proto = BodyProto()
        front.schedule(watcher)
        await asyncio.get_running_loop().run_in_executor(None, watcher.proto.answered.wait, 10)
        front.stop()
        return watcher.proto

    proto = asyncio.run(scenario())
    assert seen == [b'{"name": "x"}'] and proto.answers[0][0] == 201


class Transport:
    """granian's stream transport: ``send_bytes`` queues a chunk and returns an awaitable saying how it went."""

    def __init__(self, gone_after: int) -> None:
        self.sent: list[bytes] = []
        self.gone_after = gone_after

    def send_bytes(self, chunk: bytes) -> Any:
        if len(self.sent) >= self.gone_after:
            return iter(_raise(ConnectionError("the client has gone")))
        self.sent.append(chunk)
        return iter(())  # done at once


def _raise(error: Exception) -> Any:
    raise error
    yield  # pragma: no cover - makes this a generator


class StreamProto(Proto):
    def __init__(self, transport: Transport) -> None:
        super().__init__()
        self.transport = transport
        self.head: tuple[int, list[tuple[str, str]]] | None = None

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> Transport:
        self.head = (status, headers)
        return self.transport


class EventBody:
    """An endless body (like an event stream) that notes when it is closed."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self) -> Any:
        number = 0
        while True:
            number += 1
            yield b"data: %d\n\n" % number

    def close(self) -> None:
        self.closed.set()


@pytest.mark.parametrize("gone_after", [0, 3])
def test_a_streamed_body_is_sent_as_it_comes_until_the_client_goes_then_closed(gone_after: int) -> None:
    body = EventBody()

    def app(environ: dict[str, Any], start_response: Any) -> EventBody:
        start_response("200 OK", [("Content-Type", "text/event-stream")])  # no Content-Length: streamed
        return body

    front = ThreadedWsgi(app, threads=1, limits=Limits())
    proto = StreamProto(Transport(gone_after))
    front._run_job((Scope(path="/_sandbox/events/stream"), proto, b""))  # on this thread, as an app thread would
    assert proto.head == (200, [("Content-Type", "text/event-stream")]) and proto.answers == []
    assert proto.transport.sent == [b"data: %d\n\n" % n for n in range(1, gone_after + 1)]
    assert body.closed.is_set()
