"""Shared fixtures. Every response a test receives through ``client`` is checked against
``openapi.yaml`` by openapi-core, so no test can get a non-conforming response past it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from sandbox import create_app
from sandbox.app import reference_openapi, sandbox_of

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


@pytest.fixture(scope="session")
def _shared_app() -> Iterator[Flask]:
    app = make_app()
    yield app
    sandbox_of(app).close()


@pytest.fixture
def app(_shared_app: Flask) -> Iterator[Flask]:
    """The suite's app, put back to its seed after each test (as the partner plugin does)."""
    yield _shared_app
    sandbox_of(_shared_app).reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sandbox(app: Flask) -> Any:
    return sandbox_of(app)


@pytest.fixture
def keys(sandbox: Any) -> dict[str, Any]:
    """Tokens by role: parent_admin, admin, write, read (a child location), other_* (a sibling)."""
    world = sandbox.world
    by_org: dict[str, dict[str, str]] = {}
    for key in world.keys:
        role = "admin" if "admin" in key["scopes"] else "write" if "write" in key["scopes"] else "read"
        by_org.setdefault(key["organization_id"], {})[role] = key["token"]
    child, sibling = world.child_org_ids[0], world.child_org_ids[1]
    return {
        "parent_admin": by_org[world.parent_org_id]["admin"],
        "parent_read": by_org[world.parent_org_id]["read"],
        **by_org[child],
        **{f"other_{role}": token for role, token in by_org[sibling].items()},
        "org_id": child,
        "other_org_id": sibling,
        "parent_org_id": world.parent_org_id,
    }


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
