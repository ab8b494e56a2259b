"""pytest plugin for partners' CI (registered through the ``pytest11`` entry point).

Gives an ``eal_sandbox`` fixture: every test gets a sandbox of its own — a whole seeded world with
its own keys, clock, journal, scenarios and webhooks — minted through ``POST /_sandbox/sandboxes``
on a server started in-process on a free loopback port (once per test session), or on a running
server named with ``--eal-sandbox-url``. Nothing is reset between tests: each test's sandbox is
deleted after it, so parallel workers (``pytest -n 4``) can share one server without seeing each
other. ``@pytest.mark.eal_sandbox(seed=7, leads_per_org=20, ttl="30m", scenario="flaky-api")`` sets
one test's sandbox; server settings (``RATE_LIMIT=5``, any ``Settings`` name) get that test a server
of its own (in-process only).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .base.clock import parse_iso
from .base.durations import format_duration, parse_duration
from .base.errors import server_error_body

SANDBOX_OPTIONS = ("seed", "leads_per_org", "ttl", "scenario")  # what POST /_sandbox/sandboxes takes


class RemoteClock:
    """The sandbox clock, read over HTTP (``now()``), as the in-process ``Clock`` reads."""

    def __init__(self, http: httpx.Client, token: str) -> None:
        self._http, self._token = http, token

    def now(self) -> datetime:
        response = self._http.get("/_sandbox/clock", headers={"Authorization": f"Bearer {self._token}"})
        response.raise_for_status()
        return parse_iso(response.json()["now"])


@dataclass
class SandboxHandle:
    """What a test gets: where its sandbox is, its keys and its clock."""

    base_url: str
    sandbox_id: str
    keys: dict[str, str] = field(default_factory=dict)
    app: Any = None  # the Flask app, when the server runs in this process
    http: httpx.Client = field(default_factory=httpx.Client, repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def sandbox(self) -> Any:
        """The live sandbox object (in-process servers only; None for ``--eal-sandbox-url``)."""
        if self.app is None:
            return None
        from .web.app import runtime_of

        return runtime_of(self.app).sandboxes.find(self.sandbox_id)

    @property
    def clock(self) -> Any:
        """The sandbox clock: ``clock.now()`` (over HTTP for a remote server)."""
        sandbox = self.sandbox
        return sandbox.clock if sandbox is not None else RemoteClock(self.http, self.keys["read"])

    @property
    def journal(self) -> Any:
        """The request journal (in-process only; over HTTP it is ``GET /_sandbox/journal``)."""
        sandbox = self.sandbox
        return None if sandbox is None else sandbox.journal

    def _control(self, path: str, body: dict[str, Any], role: str) -> None:
        response = self.http.post(path, json=body, headers={"Authorization": f"Bearer {self.keys[role]}"})
        response.raise_for_status()

    def advance(self, duration: str | timedelta) -> None:
        """Move the sandbox clock forward, firing whatever falls due."""
        delta = parse_duration(duration) if isinstance(duration, str) else duration
        self._control("/_sandbox/clock/advance", {"by": format_duration(delta)}, "admin")

    def reset(self) -> None:
        """Back to the seed now, mid-test (the whole sandbox, every organization in it)."""
        self._control("/_sandbox/reset", {"scope": "world"}, "parent_admin")


def _keys_by_role(keys: list[dict[str, Any]]) -> dict[str, str]:
    """``read``/``write``/``admin`` of the first location; ``parent_read``… of the network."""
    network = next(key["organization_id"] for key in keys if key["parent_organization_id"] is None)
    location = next(key["organization_id"] for key in keys if key["parent_organization_id"] == network)
    roles: dict[str, str] = {}
    for key in keys:
        role = key["scopes"][-1]
        if key["organization_id"] == location:
            roles[role] = key["token"]
        elif key["organization_id"] == network:
            roles[f"parent_{role}"] = key["token"]
    return roles


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
    """Where sandboxes are minted: an in-process server on a free loopback port, or a running one."""

    def __init__(self, config: dict[str, Any] | None = None, url: str | None = None) -> None:
        self.app: Any = None
        self._server: BaseWSGIServer | None = None
        if url is None:
            from .web.app import create_app

            self.app = create_app(config or {})
            self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=JsonErrorsHandler)
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
            url = f"http://127.0.0.1:{self._server.server_port}"
        self.base_url = url.rstrip("/").removesuffix("/api/v1")
        self.http = httpx.Client(base_url=self.base_url, timeout=30.0, trust_env=False)

    def mint(self, options: dict[str, Any]) -> SandboxHandle:
        response = self.http.post("/_sandbox/sandboxes", json=options)
        if response.status_code != 201:
            raise pytest.UsageError(
                f"eal_sandbox: POST {self.base_url}/_sandbox/sandboxes answered "
                f"{response.status_code}: {response.text[:300]}"
            )
        body = response.json()
        return SandboxHandle(self.base_url, body["id"], _keys_by_role(body["keys"]), self.app, self.http)

    def discard(self, handle: SandboxHandle) -> None:
        """Delete the test's sandbox (already gone is fine: the test may have deleted it)."""
        admin = {"Authorization": f"Bearer {handle.keys['parent_admin']}"}
        self.http.delete("/_sandbox/sandboxes/current", headers=admin)

    def stop(self) -> None:
        self.http.close()
        if self._server is not None:
            self._server.shutdown()
            self.app.extensions["eal_sandbox"].close()  # the runtime: every sandbox of the app


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eal-sandbox")
    group.addoption("--eal-sandbox-seed", type=int, default=42, help="world seed of each test's sandbox")
    group.addoption("--eal-sandbox-leads", type=int, default=100, help="leads per location")
    group.addoption(
        "--eal-sandbox-url",
        default=None,
        metavar="URL",
        help="mint each test's sandbox on this running server instead of one started in-process",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "eal_sandbox(**options): options for this test's sandbox (seed, "
        "leads_per_org, ttl, scenario) or server settings (RATE_LIMIT=…)",
    )


@pytest.fixture(scope="session")
def _eal_sandbox_server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    url = request.config.getoption("--eal-sandbox-url")
    server = _Server({"LEADS_PER_ORG": request.config.getoption("--eal-sandbox-leads")}, url=url)
    yield server
    server.stop()


@pytest.fixture
def eal_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    """A sandbox of this test's own, deleted after it."""
    marker = request.node.get_closest_marker("eal_sandbox")
    options = {name.lower(): value for name, value in (marker.kwargs if marker else {}).items()}
    server_settings = {name.upper(): options.pop(name) for name in list(options) if name not in SANDBOX_OPTIONS}
    options.setdefault("seed", request.config.getoption("--eal-sandbox-seed"))
    options.setdefault("leads_per_org", request.config.getoption("--eal-sandbox-leads"))
    if server_settings:  # server settings: a server of its own for this test
        if request.config.getoption("--eal-sandbox-url"):
            raise pytest.UsageError(
                f"eal_sandbox: {', '.join(server_settings)} need a server of their own, "
                "which --eal-sandbox-url cannot give"
            )
        server = _Server({"LEADS_PER_ORG": options["leads_per_org"], **server_settings})
        try:
            yield server.mint(options)
        finally:
            server.stop()
        return
    shared: _Server = request.getfixturevalue("_eal_sandbox_server")
    handle = shared.mint(options)
    yield handle
    shared.discard(handle)
