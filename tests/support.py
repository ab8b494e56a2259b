"""Test support (fixtures are in conftest.py): the contract-checking client every response goes
through, and loopback servers — a webhook receiver, a sandbox served over real HTTP.

Every response a test receives through the ``client`` fixture is checked against ``openapi.yaml``
by openapi-core, so no test can get a non-conforming response past it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from sandbox import create_app
from sandbox.web.app import reference_openapi, runtime_of, sandbox_of

FROZEN_AT = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)
BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SEED": 7,
    "LEADS_PER_ORG": 120,
    "CLOCK_START": FROZEN_AT,
    "CLOCK_FROZEN": True,
    "WEBHOOK_RETRY_BASE": 0.05,
}


class ContractError(AssertionError):
    """A response that does not conform to openapi.yaml."""


def check_contract(response: Any) -> None:
    """Validate one test-client response against the spec (raises ContractError)."""
    openapi = reference_openapi()
    if response.status_code == 405:  # no such operation: nothing in the spec to conform to
        _check_off_spec(response)
        return
    if response.mimetype == "text/event-stream":  # openapi-core has no notion of a stream of events
        _check_events(response)
        return
    sent = response.request
    # A body-less copy of the request: the original's input stream was consumed by the app.
    request = WerkzeugOpenAPIRequest(Request(EnvironBuilder(
        base_url="http://localhost:4010", method=sent.method, path=sent.path,
        query_string=sent.query_string.decode(),
        headers={"Authorization": sent.headers.get("Authorization", "")}).get_environ()))
    try:
        openapi.validate_response(request, WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        _check_off_spec(response)
    except Exception as error:  # every openapi-core complaint is a contract failure
        raise ContractError(
            f"{response.request.method} {response.request.path} -> {response.status_code} "
            f"does not conform: {error!r}\nbody: {response.get_data(as_text=True)[:800]}"
        ) from error


def _check_events(response: Any) -> None:
    """Each server-sent event of a stream against the schema the spec gives one event (OpenAPI 3.1)."""
    import jsonschema

    from sandbox.base.spec import load_spec

    spec = load_spec()
    operation = next(op for op in spec.operations  # the event streams' paths have no template
                     if op.path == response.request.path and op.method == response.request.method)
    schema = operation.raw["responses"][str(response.status_code)]["content"]["text/event-stream"]["schema"]
    for block in response.get_data(as_text=True).split("\n\n"):
        event: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            if name and not line.startswith(":"):
                event[name] = int(value.strip()) if name == "retry" else value.removeprefix(" ")
        if "data" in event:
            try:
                jsonschema.validate(event, schema)
            except jsonschema.ValidationError as error:
                raise ContractError(f"{response.request.path}: an event does not conform: {error.message}") from error


def _check_off_spec(response: Any) -> None:
    """Paths outside the spec may only answer with the error envelope."""
    path = response.request.path
    if path.startswith(("/openapi.", "/_sandbox/openapi.", "/docs")) or response.request.method == "OPTIONS":
        return  # the spec documents neither itself, the docs page, nor CORS preflights
    body = response.get_json(silent=True) or {}
    error = body.get("error", {})
    if response.status_code < 400 or not {"code", "message", "details"} <= set(error):
        raise ContractError(f"{path} is not in the spec and did not answer with the error envelope")


class ContractClient(FlaskClient):
    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        check_contract(response)
        return response


def make_app(**overrides: Any) -> Flask:
    app = create_app({**BASE_CONFIG, **overrides})
    app.test_client_class = ContractClient
    return app


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send_raw(host: str, port: int, data: bytes) -> tuple[int, str | None, Any]:
    """Send raw bytes to a server; return the status, Content-Type and parsed JSON body it answers."""
    import http.client
    import json
    import socket

    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(data)
        response = http.client.HTTPResponse(raw)
        response.begin()
        body = json.loads(response.read())
        response.close()
    return response.status, response.getheader("Content-Type"), body




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
