"""A real HTTP receiver on loopback that records deliveries and fails on request."""

from __future__ import annotations

import collections
import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.services.webhooks import RetrySchedule

ORG = "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91"
OTHER_ORG = "5d1e7b20-3f4c-4e8a-b2d9-6a0c1f3e5b77"
FAST_RETRIES = RetrySchedule(base_seconds=0.05, factor=2.0, max_attempts=5, jitter=0.2)


@dataclass(frozen=True)
class Received:
    """One request the receiver got, exactly as it came off the wire."""

    body: bytes
    headers: dict[str, str]  # lower-cased names
    answered: int  # the status the receiver answered with

    @property
    def event_id(self) -> str:
        return self.headers["x-eal-event-id"]


class Receiver:
    """A loopback HTTP endpoint that records deliveries and fails on request."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._plan: collections.deque[tuple[int, dict[str, str], float]] = collections.deque()
        self._lock = threading.Condition()
        self._gate = threading.Event()
        self._gate.set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def fail_first(
        self, count: int, status: int = 500, *, sleep: float = 0.0, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``count`` requests with ``status``, after sleeping ``sleep`` seconds."""
        with self._lock:
            self._plan.extend([(status, headers or {}, sleep)] * count)

    def always(self, status: int, *, sleep: float = 0.0) -> None:
        """Answer every request from now on with ``status``."""
        self.fail_first(10_000, status, sleep=sleep)

    def hold(self) -> None:
        """Keep every request waiting, unanswered, until ``release``."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def delivered(self) -> list[Received]:
        """The requests answered 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until ``count`` requests arrived (any answer); return all of them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            return list(self.requests)

    def _answer(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], float]:
        with self._lock:
            status, extra, sleep = self._plan.popleft() if self._plan else (200, {}, 0.0)
            self.requests.append(Received(body, headers, status))
            self._lock.notify_all()
        return status, extra, sleep

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
            disable_nagle_algorithm = True  # answer headers and body without a 40 ms delayed-ACK stall

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, extra, sleep = receiver._answer(body, headers)
                receiver._gate.wait(10)
                time.sleep(sleep)
                try:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sandbox gave up waiting (timeout test)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def close(self) -> None:
        self._gate.set()
        self.server.shutdown()
        self.server.server_close()


def node_sample_verifies(secret: str, request: Received) -> bool:
    """The seed's Node snippet, reimplemented independently: hex HMAC of `${ts}.${body}`, `===`."""
    text = f"{request.headers['x-eal-timestamp']}.{request.body.decode('utf-8')}"
    expected = hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()
    return request.headers["x-eal-signature"] == expected


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``condition`` until it holds; fail the test if it does not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


LIFETIME = 20.0  # no loopback receiver here lives longer than this


class SlowReceiver:
    """Reads each request, then either trickles its answer one byte every ``every`` seconds or, with
    ``hold``, says nothing until ``release()``; both bounded by LIFETIME."""

    def __init__(self, *, every: float = 0.5, hold: bool = False) -> None:
        self.every, self.hold = every, hold
        self.started = threading.Event()
        self.requests = 0
        self.active = self.most_active = 0  # connections being answered now, and the most at once
        self._count = threading.Lock()
        self.finished: list[float] = []  # monotonic instants the sandbox gave up (or got the whole answer)
        self._gate = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}/hook"

    def release(self) -> None:
        self._gate.set()

    def close(self) -> None:
        self._gate.set()
        self._stop.set()
        self._server.close()

    def _accept(self) -> None:
        deadline = time.monotonic() + LIFETIME
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                connection, _ = self._server.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(LIFETIME)
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            with self._count:
                self.requests += 1
                self.active += 1
                self.most_active = max(self.most_active, self.active)
            self.started.set()
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            ends = time.monotonic() + LIFETIME
            try:
                if self.hold:
                    self._gate.wait(LIFETIME)
                    connection.sendall(answer)
                else:
                    for byte in answer:
                        if time.monotonic() > ends:
                            break
                        connection.sendall(bytes([byte]))
                        time.sleep(self.every)
                    connection.recv(1)  # wait for the sandbox to hang up
            except OSError:
                pass
            finally:
                self.finished.append(time.monotonic())
                with self._count:
                    self.active -= 1
