"""pytest plugin for partners' CI (registered through the ``pytest11`` entry point).

Gives an ``eal_sandbox`` fixture: a sandbox started in-process on a free loopback port, with
its base URL, keys, and handles to the clock and the request journal. The world is reset to the
seed after every test, so tests never see each other's records. Choose the seed and options with
``--eal-sandbox-seed`` or per test with ``@pytest.mark.eal_sandbox(seed=7, RATE_LIMIT=5)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .base.durations import parse_duration
from .base.errors import server_error_body


@dataclass
class SandboxHandle:
    """What a test gets: where the sandbox is, its keys and its clock."""

    base_url: str
    app: Any
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def sandbox(self) -> Any:
        from .web.app import sandbox_of

        return sandbox_of(self.app)

    @property
    def clock(self) -> Any:
        return self.sandbox.clock

    @property
    def journal(self) -> Any:
        return getattr(self.sandbox, "journal", None)

    def advance(self, duration: str | timedelta) -> None:
        """Move the sandbox clock forward, firing whatever falls due."""
        delta = parse_duration(duration) if isinstance(duration, str) else duration
        self.clock.advance(delta)

    def reset(self) -> None:
        self.sandbox.reset()


def _keys_by_role(sandbox: Any) -> dict[str, str]:
    """``read``/``write``/``admin`` of the first child location; ``parent_admin`` of the network."""
    world = sandbox.world
    keys: dict[str, str] = {}
    for key in world.keys:
        role = "admin" if "admin" in key["scopes"] else "write" if "write" in key["scopes"] else "read"
        if key["organization_id"] == world.child_org_ids[0]:
            keys[role] = key["token"]
        elif key["organization_id"] == world.parent_org_id:
            keys[f"parent_{role}"] = key["token"]
    return keys


class JsonErrorsHandler(WSGIRequestHandler):
    """werkzeug's request handler, answering HTTP it cannot parse with the API's envelope, not HTML."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        reason = self.responses.get(code, ("Error",))[0]
        body = server_error_body(code, reason, explain or message or "")
        self.log_error("code %d, message %s", code, message)
        if self.request_version == "HTTP/0.9":  # an unparsable request line: still answer with headers
            self.request_version = "HTTP/1.0"
        self.send_response(code, reason)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server:
    def __init__(self, config: dict[str, Any]) -> None:
        from .web.app import create_app, sandbox_of

        self.app = create_app(config)
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, self.app, threaded=True,
                                                  request_handler=JsonErrorsHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        port = self.server.server_port
        self.handle = SandboxHandle(f"http://127.0.0.1:{port}", self.app,
                                    _keys_by_role(sandbox_of(self.app)))

    def stop(self) -> None:
        self.server.shutdown()
        self.app.extensions["eal_sandbox"].close()  # the runtime: every sandbox of the app


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eal-sandbox")
    group.addoption("--eal-sandbox-seed", type=int, default=42, help="world seed for eal_sandbox")
    group.addoption("--eal-sandbox-leads", type=int, default=100, help="leads per location")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "eal_sandbox(**settings): settings for this test's sandbox")


@pytest.fixture(scope="session")
def _eal_sandbox_session(request: pytest.FixtureRequest) -> Iterator[_Server]:
    server = _Server({"SEED": request.config.getoption("--eal-sandbox-seed"),
                      "LEADS_PER_ORG": request.config.getoption("--eal-sandbox-leads")})
    yield server
    server.stop()


@pytest.fixture
def eal_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    """A running sandbox, reset to its seed after the test."""
    marker = request.node.get_closest_marker("eal_sandbox")
    if marker is not None:
        settings = {key.upper(): value for key, value in marker.kwargs.items()}
        settings.setdefault("SEED", request.config.getoption("--eal-sandbox-seed"))
        settings.setdefault("LEADS_PER_ORG", request.config.getoption("--eal-sandbox-leads"))
        server = _Server(settings)
        yield server.handle
        server.stop()
        return
    shared: _Server = request.getfixturevalue("_eal_sandbox_session")
    yield shared.handle
    shared.handle.reset()
