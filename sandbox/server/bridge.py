"""A WSGI app behind granian's RSGI interface: bodies are read on the event loop, the app runs on threads.

granian parses HTTP in Rust, outside the GIL. Its own WSGI interface calls the app as soon as the
headers are in and lets the app's thread block on the body with no deadline (granian #728, closed
as won't-fix), so twenty clients trickling a body would hold twenty threads. Here a request
reaches a thread only once it is complete: the body is read asynchronously, within a deadline and
a size cap. The app runs on a small pool of threads, not on the loop, because some requests wait
(a latency scenario sleeps; a scenario's settle waits for webhook receivers, which may call back).

What the HTTP core rejects itself (a bad request line, a bad Content-Length, a head over its
buffer) gets a bare status with no body; everything this module refuses gets the API's envelope.
"""

from __future__ import annotations

import asyncio
import functools
import io
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..base.errors import server_error_body
from .app_threads import AppThreads

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[str, str]]
JSON_CLOSE: Headers = [("content-type", "application/json"), ("connection", "close")]


@dataclass(frozen=True)
class Limits:
    """What a client may hold or send; README "Serving" gives the same values."""

    header_seconds: float = 10.0  # the whole request head; also how long a kept-alive connection may idle
    body_seconds: float = 15.0  # the whole body, from the end of the head
    max_connections: int = 1024  # connections served at once; more wait in the listen backlog
    max_in_flight: int = 256  # requests reading a body, queued or running; more get a 503
    max_uri_bytes: int = 8 * 1024  # path and query; longer is a 414
    max_header_bytes: int = 16 * 1024  # names and values together; more is a 431
    head_buffer_bytes: int = 64 * 1024  # the HTTP core's own cap on a request head: beyond it, a bare 431
    max_body_bytes: int = 1024 * 1024  # read at most one byte more; the app answers the 413
    max_drained_bytes: int = 8 * 1024 * 1024  # a body over the cap is read and dropped up to this much


class BodyUnreadable(Exception):
    """The client sent a body the HTTP core could not decode (bad chunking) or went away."""


class ThreadedWsgi:
    """Admission, body reading, then one of ``threads`` app threads.

    granian hands each request to ``schedule`` on its own Python thread. A request without a body
    goes straight to the app threads' queue; one with a body is first read on the event loop, so
    no thread waits for a slow client. An app thread answers through granian directly.
    """

    def __init__(self, app: WsgiApp, threads: int, limits: Limits, concurrent: bool = False) -> None:
        self._app = app
        self._limits = limits
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._reading: dict[int, tuple[float, Any, Any]] = {}  # bodies granian is collecting: deadline, future, proto
        self._threads = AppThreads(threads, self._run_job, concurrent=concurrent)
        # Requests in flight = admitted - answered. Each counter has a single writer (granian's
        # scheduling thread; each answering thread its own entry), so no lock is needed.
        self._admitted = 0
        self._answered: dict[int, int] = {}
        self._server_address: tuple[str, tuple[str, str]] = ("", ("", ""))
        self._environ = {
            "wsgi.version": (1, 0),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "SCRIPT_NAME": "",
            "SERVER_SOFTWARE": "eal-sandbox (granian)",
        }

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._sweeper = loop.create_task(self._expire_slow_bodies())
        self._threads.start()

    def stop(self) -> None:
        """Stop the app threads (each finishes its request first); the loop's tasks are the caller's."""
        self._threads.stop()

    def schedule(self, watcher: Any) -> None:
        """Take one request from granian (its watcher holds ``scope`` and ``proto``): refuse it,
        queue it for the app, or read its body first. granian ignores what this raises: nothing may."""
        scope, proto = watcher.scope, watcher.proto
        try:
            self._admit(scope, proto)
        except Exception:
            proto.response_bytes(
                500,
                JSON_CLOSE,
                server_error_body(500, "Internal Server Error", "the sandbox failed to take this request"),
            )

    def _admit(self, scope: Any, proto: Any) -> None:
        limits = self._limits
        if self._admitted - sum(self._answered.values()) >= limits.max_in_flight:
            proto.response_bytes(
                503,
                [*JSON_CLOSE, ("retry-after", "1")],
                server_error_body(
                    503,
                    "Service Unavailable",
                    f"the sandbox is already handling {limits.max_in_flight} requests; retry in a second",
                ),
            )
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            proto.response_bytes(*refusal)
            return
        self._admitted += 1
        headers = scope.headers
        length = headers.get("content-length")
        if "transfer-encoding" in headers:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._loop.create_task, self._read_streamed(scope, proto))
        elif length is None or length == "0":
            self._threads.submit((scope, proto, b""))
        elif int(length) <= limits.max_body_bytes:  # the HTTP core has checked it is a number
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._read_sized, scope, proto)
        elif int(length) <= limits.max_drained_bytes:
            # Over the cap: read and drop it, so the client can finish sending and read its 413.
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._loop.create_task, self._read_streamed(scope, proto))
        else:
            self._threads.submit((scope, proto, None))  # unread: the app answers 413 from the length

    def _read_sized(self, scope: Any, proto: Any) -> None:
        """Have granian collect a body of known length (on the loop; no task, no timer per request:
        ``_expire_slow_bodies`` enforces the deadline)."""
        body = proto()
        self._reading[id(body)] = (time.monotonic() + self._limits.body_seconds, body, proto)
        body.add_done_callback(functools.partial(self._sized_body_in, scope, proto))

    def _sized_body_in(self, scope: Any, proto: Any, body: Any) -> None:
        if self._reading.pop(id(body), None) is None:
            return  # the deadline passed and the request was answered
        try:
            data = body.result()
        except Exception:  # granian's transport errors: the client went away or sent less than it declared
            self._fail(proto, 400, "Bad Request", "the request body could not be read: the connection closed")
            return
        self._threads.submit((scope, proto, bytes(data)))

    async def _expire_slow_bodies(self) -> None:
        """Answer 408 to every body still not in after its deadline (checked every second)."""
        while True:
            await asyncio.sleep(1)
            now = time.monotonic()
            for key, (deadline, body, proto) in list(self._reading.items()):
                if deadline <= now and self._reading.pop(key, None) is not None:
                    body.cancel()
                    self._fail(
                        proto,
                        408,
                        "Request Timeout",
                        f"the request body did not arrive within {self._limits.body_seconds:g} s",
                    )

    async def _read_streamed(self, scope: Any, proto: Any) -> None:
        """Read a chunked body, or one declared over the cap, as it arrives (within the deadline)."""
        limits = self._limits
        try:
            async with asyncio.timeout(limits.body_seconds):
                body = await self._read_chunks(proto)
        except TimeoutError:
            self._fail(
                proto, 408, "Request Timeout", f"the request body did not arrive within {limits.body_seconds:g} s"
            )
            return
        except BodyUnreadable as error:
            self._fail(proto, 400, "Bad Request", f"the request body could not be read: {error}")
            return
        except Exception:
            self._fail(proto, 500, "Internal Server Error", "the sandbox failed to read this request")
            return
        self._threads.submit((scope, proto, body))

    def _fail(self, proto: Any, status: int, reason: str, message: str) -> None:
        """Answer a request the app will not see (on the loop), closing its connection."""
        self._count_answered()
        proto.response_bytes(status, JSON_CLOSE, server_error_body(status, reason, message))

    def _refusal(self, scope: Any) -> tuple[int, Headers, bytes] | None:
        """A 414 or 431 for a request line or head the HTTP core accepted but the API does not."""
        limits = self._limits
        if len(scope.path) + len(scope.query_string) > limits.max_uri_bytes:
            return (
                414,
                JSON_CLOSE,
                server_error_body(414, "URI Too Long", f"the path and query are over {limits.max_uri_bytes} bytes"),
            )
        size = 0
        for name, value in scope.headers.items():
            size += len(name) + len(value)
        if size > limits.max_header_bytes:
            return (
                431,
                JSON_CLOSE,
                server_error_body(
                    431, "Request Header Fields Too Large", f"the headers are over {limits.max_header_bytes} bytes"
                ),
            )
        return None

    async def _read_chunks(self, proto: Any) -> bytes:
        """The body as it arrives, kept to one byte past the cap (the app answers the 413) and
        dropped after that, up to ``max_drained_bytes``; past that it is left unread."""
        keep, drain = self._limits.max_body_bytes + 1, self._limits.max_drained_bytes
        received = bytearray()
        total = 0
        chunks = proto.__aiter__()
        while total <= drain:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            if chunk:
                total += len(chunk)
                if len(received) < keep:
                    received += chunk[: keep - len(received)]
                continue
            # The core hands over an empty chunk where the body ends, and also where it failed to
            # decode one; only after a failure is a second empty chunk handed over.
            try:
                await chunks.__anext__()
            except StopAsyncIteration:
                break
            raise BodyUnreadable("malformed chunked encoding")
        return bytes(received)

    def _run_job(self, job: tuple[Any, Any, bytes | None]) -> None:
        """Run the app for one request and answer it through granian (on an app thread)."""
        scope, proto, body = job
        result: Iterable[bytes] = ()
        head_sent = False
        try:
            status, headers, result = self._start_app(scope, body)
            if isinstance(result, list | tuple) or _sized(headers):
                payload = b"".join(result)
                self._count_answered()
                head_sent = True
                proto.response_bytes(status, headers, payload)
            else:  # a streamed body (an event stream): sent as it comes, on this thread
                self._count_answered()  # answered once its head is out: an open stream is not in flight
                head_sent = True
                _stream(proto.response_stream(status, headers), result)
        except Exception:  # the app's own errors are answered by the app; this is the last net
            if not head_sent:
                self._count_answered()
                proto.response_bytes(
                    500,
                    JSON_CLOSE,
                    server_error_body(500, "Internal Server Error", "the sandbox failed to answer this request"),
                )
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # what the app frees when its response is over or the client has gone

    def _count_answered(self) -> None:
        thread = threading.get_ident()
        self._answered[thread] = self._answered.get(thread, 0) + 1

    def _start_app(self, scope: Any, body: bytes | None) -> tuple[int, Headers, Iterable[bytes]]:
        """Call the app: its status, headers and body iterable (``start_response`` may come with
        the first chunk of a generator, so that chunk is drawn then)."""
        started: list[Any] = []

        def start_response(status: str, headers: Headers, exc_info: Any = None) -> None:
            started[:] = [int(status[:3]), headers]

        result = self._app(self.environ(scope, body), start_response)
        if not started:
            chunks = iter(result)
            first = next(chunks, b"")
            return started[0], started[1], _Chained(first, chunks, result)
        return started[0], started[1], result

    def environ(self, scope: Any, body: bytes | None) -> dict[str, Any]:
        """The PEP 3333 environ of a request, as granian's own WSGI interface builds it."""
        environ = self._environ.copy()
        headers = scope.headers
        server = scope.server
        if server != self._server_address[0]:
            host, _, port = server.rpartition(":")
            self._server_address = (server, (host.strip("[]"), port))
        environ["SERVER_NAME"], environ["SERVER_PORT"] = self._server_address[1]
        client_host, _, client_port = scope.client.rpartition(":")
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client_host.strip("[]"), client_port
        environ["REQUEST_METHOD"] = scope.method
        environ["PATH_INFO"] = scope.path.encode("utf-8").decode("latin-1")
        environ["QUERY_STRING"] = scope.query_string
        environ["SERVER_PROTOCOL"] = "HTTP/1.0" if scope.http_version == "1" else "HTTP/1.1"
        environ["wsgi.url_scheme"] = scope.scheme
        for name, value in headers.items():
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
            elif name != "content-length" and name != "transfer-encoding":
                key = "HTTP_" + name.upper().replace("-", "_")
                if key in environ:  # a repeated header: one comma-separated value (cookies: "; ")
                    environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
                else:
                    environ[key] = value
        if body is None:  # declared over the cap and left unread
            environ["CONTENT_LENGTH"] = headers["content-length"]
            environ["wsgi.input"] = io.BytesIO()
        else:
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body)
        environ.setdefault("HTTP_HOST", scope.authority or environ["SERVER_NAME"])
        return environ


def _sized(headers: Headers) -> bool:
    """Whether a response has a Content-Length (a buffered body), rather than being streamed."""
    return any(name.lower() == "content-length" for name, _ in headers)


def _stream(transport: Any, chunks: Iterable[bytes]) -> None:
    """Send each chunk as the app yields it, until the body ends or the client has gone.

    granian queues a chunk at once; the awaitable ``send_bytes`` returns only reports how that went,
    so it is read here without an event loop."""
    for chunk in chunks:
        if not chunk:
            continue
        try:
            next(transport.send_bytes(chunk))
        except StopIteration:
            continue
        except Exception:  # the connection is gone
            return


class _Chained:
    """A body whose first chunk was drawn already; ``close`` still reaches the app's iterable."""

    def __init__(self, first: bytes, rest: Any, original: Iterable[bytes]) -> None:
        self._first, self._rest, self._original = first, rest, original

    def __iter__(self) -> Any:
        yield self._first
        yield from self._rest

    def close(self) -> None:
        close = getattr(self._original, "close", None)
        if close is not None:
            close()
