"""Test support: a loopback webhook receiver and a sandbox served over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.serving import make_server

from sandbox.web.app import runtime_of, sandbox_of
from tests.conftest import auth, make_app


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]  # lower-cased names

    @property
    def event_id(self) -> str:
        return self.headers["x-eal-event-id"]

    @property
    def event_type(self) -> str:
        return self.headers["x-eal-event-type"]


class Receiver:
    """Records every POST and answers ``status`` (200 by default)."""

    def __init__(self, status: int = 200) -> None:
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._changed:
                    receiver.deliveries.append(
                        Delivery(body, {k.lower(): v for k, v in self.headers.items()})
                    )
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.deliveries) < count and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return list(self.deliveries)

    def of_type(self, event_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.event_type == event_type]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LiveSandbox:
    """A test app (frozen clock) served on a loopback port, for the CLI's HTTP client."""

    def __init__(self, **settings: Any) -> None:
        self.app = make_app(**settings)
        self.sandbox = sandbox_of(self.app)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.keys = keys_by_role(self.sandbox)

    def close(self) -> None:
        self.server.shutdown()
        runtime_of(self.app).close()


def keys_by_role(sandbox: Any) -> dict[str, str]:
    """Tokens of the first child location by role."""
    child = sandbox.world.child_org_ids[0]
    return {
        ("admin" if "admin" in key["scopes"] else "write" if "write" in key["scopes"] else "read"): key[
            "token"
        ]
        for key in sandbox.world.keys
        if key["organization_id"] == child
    }


def subscribe_with(client: Any, token: str, url: str, events: list[str]) -> dict[str, Any]:
    """Subscribe ``url`` to ``events``; returns the created webhook with its signing secret."""
    response = client.post("/api/v1/webhooks", headers=auth(token), json={"url": url, "events": events})
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def start(client: Any, token: str, name: str) -> dict[str, Any]:
    """Start a shipped scenario for the token's organization."""
    response = client.post("/_sandbox/scenarios/active", headers=auth(token), json={"name": name})
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


# Fixtures (imported by tests/scenarios/conftest.py and by tests elsewhere that need them) ------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def subscribe(client: Any, keys: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """Subscribe a URL to events as the child location's admin; returns the created webhook."""
    return lambda url, events: subscribe_with(client, keys["admin"], url, events)


@pytest.fixture
def live_sandbox() -> Iterator[LiveSandbox]:
    running = LiveSandbox()
    yield running
    running.close()


@pytest.fixture
def clean_slate(sandbox: Any) -> Iterator[None]:
    """No scenario running and an empty journal, before and after the test (the app is shared)."""
    sandbox.runs.stop_all()
    sandbox.journal.reset()
    yield
    sandbox.runs.stop_all()
    sandbox.journal.reset()
