"""Shared fixtures (helpers are in tests/support.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.web.app import runtime_of, sandbox_of
from tests.support import LiveSandbox, Receiver, RedisServer, fresh_database, make_app, redis_available, subscribe_with

STORES = ("memory", "redis", "cluster")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "both_stores: run the module's app-based tests on the memory store, "
        "on Redis and on a Redis Cluster (the fleet's stores)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``both_stores`` that use the suite's app run once per store (``store`` fixture)."""
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("store", STORES, indirect=True, scope="session")


@pytest.fixture(scope="session")
def store(request: pytest.FixtureRequest) -> str:
    """The ``STORE`` setting of the suite's app: memory, or for ``both_stores`` modules also the session's
    Redis and its three-node Redis Cluster."""
    name = getattr(request, "param", "memory")
    if name == "cluster":
        node = str(request.getfixturevalue("redis_cluster_url")).removeprefix("redis://").rsplit("/", 1)[0]
        return "redis-cluster://" + node
    return "memory" if name == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture(scope="session")
def _shared_app(store: str) -> Iterator[Flask]:
    app = make_app(STORE=store)
    yield app
    runtime_of(app).close()


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


# Live servers and receivers (tests/support.py) ---------------------------------------------------


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


@pytest.fixture(params=("memory", "redis"))
def new_store(request: pytest.FixtureRequest) -> Callable[[], str]:
    """Makes the ``STORE`` setting of servers a test starts itself: the test runs once on memory and once
    on Redis, where each call names a fresh database of the session's Redis (a fleet of its own; a
    Redis Cluster has one database only, so it is not among these)."""
    if request.param == "memory":
        return lambda: "memory"
    url = str(request.getfixturevalue("redis_url"))
    return lambda: fresh_database(url)


@pytest.fixture
def clean_slate(sandbox: Any) -> Iterator[None]:
    """No scenario running and an empty journal, before and after the test (the app is shared)."""
    sandbox.runs.stop_all()
    sandbox.journal.reset()
    yield
    sandbox.runs.stop_all()
    sandbox.journal.reset()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis (Debian's redis-server, no persistence) on a free loopback port for the session.
    Skipped where redis-server is missing — failing under CI (``CI`` set), where .ci/run installs it."""
    missing = redis_available()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI must run the Redis tests (.ci/run installs Debian's redis-server)")
        pytest.skip(missing)
    server = RedisServer()
    yield server.url
    server.close()


@pytest.fixture(scope="session")
def redis_cluster_url(redis_url: str) -> Iterator[str]:
    """A three-node Redis Cluster (every slot covered, no replicas) of Debian's redis-server on free
    loopback ports, for the session (skipped or failing like ``redis_url``, which it needs first)."""
    server = RedisServer(cluster=3)
    yield server.url
    server.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs Debian's chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium (never a downloaded browser) driven by playwright, for a module's browser tests;
    skipped without it on a laptop, failing under CI (``CI`` set), where .ci/run installs it."""
    if not os.path.isfile(CHROMIUM):
        _browser_unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
