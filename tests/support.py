"""Test support (fixtures are in conftest.py): the contract-checking client every response goes
through, and loopback servers — a webhook receiver, a sandbox served over real HTTP, Redis, and
``eal-sandbox serve`` itself run as users run it (``real_server``).

Every response a test receives through the ``client`` fixture is checked against ``openapi.yaml``
by openapi-core, so no test can get a non-conforming response past it."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
    request = WerkzeugOpenAPIRequest(
        Request(
            EnvironBuilder(
                base_url="http://localhost:4010",
                method=sent.method,
                path=sent.path,
                query_string=sent.query_string.decode(),
                headers={"Authorization": sent.headers.get("Authorization", "")},
            ).get_environ()
        )
    )
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
    operation = next(
        op
        for op in spec.operations  # the event streams' paths have no template
        if op.path == response.request.path and op.method == response.request.method
    )
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
    """Send raw bytes to a server; return the status, Content-Type and parsed JSON body it answers
    (None for an empty body)."""
    import http.client
    import json
    import socket

    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(data)
        response = http.client.HTTPResponse(raw)
        response.begin()
        raw_body = response.read()
        body = json.loads(raw_body) if raw_body else None
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
                    receiver.deliveries.append(Delivery(body, {k.lower(): v for k, v in self.headers.items()}))
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
        ("admin" if "admin" in key["scopes"] else "write" if "write" in key["scopes"] else "read"): key["token"]
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


class RedisServer:
    """Debian's ``redis-server`` on a free loopback port, in a temp directory, with no persistence
    (no RDB snapshots, no AOF): started for the test session, killed with its directory after it.

    ``cluster`` starts that many nodes in cluster mode instead and joins them into one Redis Cluster
    (every slot covered, no replicas); ``url`` then names the first node."""

    def __init__(self, *, cluster: int = 0) -> None:
        self.directory = tempfile.mkdtemp(prefix="eal-redis-")
        self.processes: list[subprocess.Popen[str]] = []
        self.drains: list[threading.Thread] = []
        self.ports: list[int] = []
        try:
            for number in range(max(cluster, 1)):
                self._start(os.path.join(self.directory, str(number)), cluster=bool(cluster))
            if cluster:
                self._join()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def unix_url(self, database: int = 0) -> str:
        """The single server's Unix socket (what a fleet on one host would use), on ``database``."""
        return f"unix://{os.path.join(self.directory, '0', 'redis.sock')}?db={database}"

    def _start(self, directory: str, *, cluster: bool) -> None:
        os.makedirs(directory)
        for _ in range(5):  # a free port can be taken between asking for it and binding it: try another
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            options = [
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                directory,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--logfile",
                "",
            ]
            if not cluster:  # a database per fleet test (``fresh_database``); a Unix socket too (``unix_url``)
                options += ["--databases", "1024", "--unixsocket", os.path.join(directory, "redis.sock")]
                options += ["--unixsocketperm", "700"]
            if cluster:
                options += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            process = subprocess.Popen(
                [REDIS_SERVER, *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            self.processes.append(process)
            if self._ready(process):
                self.ports.append(port)
                return
            failed = self.processes.pop()
            self._stop(failed)
            if failed.stdout is not None:
                failed.stdout.close()
        raise RuntimeError("redis-server did not start on a free port in five tries")

    def _ready(self, process: subprocess.Popen[str]) -> bool:
        """Read the server's log until it is ready (True) or it exits (False); the log is then drained."""
        stdout = process.stdout
        assert stdout is not None
        for line in stdout:
            if "Ready to accept connections" in line:
                self.drains.append(threading.Thread(target=stdout.read, daemon=True))
                self.drains[-1].start()
                return True
        return False

    @staticmethod
    def _stop(process: subprocess.Popen[str]) -> None:
        process.kill()
        process.wait()

    def _join(self) -> None:
        import redis

        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [
                shutil.which("redis-cli") or "redis-cli",
                "--cluster",
                "create",
                *nodes,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        for port in self.ports:  # every node agrees the cluster is up (its gossip settles in a moment)
            with redis.Redis(port=port) as node:
                while node.cluster("INFO")["cluster_state"] != "ok":
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the Redis Cluster on {nodes} did not come up in 30 s")
                    time.sleep(0.05)

    def close(self) -> None:
        for process in self.processes:
            self._stop(process)
        for drain in self.drains:  # the log ends with the process
            drain.join(timeout=10)
        for process in self.processes:
            if process.stdout is not None:
                process.stdout.close()
        shutil.rmtree(self.directory, ignore_errors=True)


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_available() -> str | None:
    """Why the Redis tests cannot run here (None: they can)."""
    if not os.path.isfile(REDIS_SERVER) or not os.access(REDIS_SERVER, os.X_OK):
        return f"{REDIS_SERVER} is missing (apt-get install -y redis-server)"
    return None


class RoundTrips:
    """How many times a connection sent something to Redis: each send is one round trip (a pipeline
    or a script call is one)."""

    def __init__(self) -> None:
        self.count = 0

    def measure(self, action: Any) -> int:
        """The round trips ``action()`` makes."""
        before = self.count
        action()
        return self.count - before


def counting_redis(url: str) -> tuple[Any, RoundTrips]:
    """A redis-py client on ``url`` whose connections count their round trips."""
    import redis

    from sandbox.base.redis_scripts import preload

    trips = RoundTrips()

    class CountingConnection(redis.Connection):
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            trips.count += 1
            super().send_packed_command(command, check_health)

    client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, connection_class=CountingConnection))
    client.ping()  # connect (and its handshake) before anything is measured
    preload(client)  # as a fleet process does at start: no script's first call counts its loading
    return client, trips


class RedisStores:
    """Makes ``RedisOverlayStore``s over ``base`` on one Redis or Redis Cluster, each with a connection of
    its own: ``stores()`` on a new sandbox id, ``stores(sandbox_id)`` on that one. ``client`` is a
    connection for the test itself; ``close()`` drops every sandbox made and closes the connections."""

    def __init__(self, url: str, base: Any, *, cluster: bool = False) -> None:
        import redis
        from redis.cluster import RedisCluster

        self.url, self.base, self.cluster = url, base, cluster
        self._connect = (lambda: RedisCluster.from_url(url)) if cluster else (lambda: redis.Redis.from_url(url))
        self.client = self._connect()
        self.made: list[Any] = []

    def __call__(self, sandbox_id: str | None = None, *, base: Any = None, **options: Any) -> Any:
        import uuid

        from sandbox.base.redis_store import RedisOverlayStore

        store = RedisOverlayStore(
            self._connect(), sandbox_id or f"sbx_{uuid.uuid4().hex}", base or self.base, **options
        )
        self.made.append(store)
        return store

    def keys_of(self, store: Any) -> list[bytes]:
        """Every key of the store's sandbox that exists (on every node of a cluster)."""
        pattern = store.keys.prefix.replace("{", "[{]").replace("}", "[}]") + "*"
        return sorted(self.client.scan_iter(match=pattern))

    def close(self) -> None:
        for store in self.made:
            store.drop()
            store._redis.close()
        self.client.close()


_databases = itertools.count(1)


def fresh_database(redis_url: str) -> str:
    """Another, empty database of the session's Redis (the URL's ``/0`` replaced): a fleet of its own."""
    return redis_url.rsplit("/", 1)[0] + f"/{next(_databases)}"


# eal-sandbox serve, run for real on a free loopback port (--port 0) -----------------------------

CLI = Path(sys.executable).parent / "eal-sandbox"
BANNER = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/api/v1")
KEY = re.compile(r"^\s+(eal_test_\w+)\s+(\S+)\s")


@dataclass
class RealServer:
    process: subprocess.Popen[str]
    port: int
    keys: dict[str, str]  # scopes ("read", "read,write", "read,write,admin") -> the first such key
    output: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def real_server(*args: str, timeout: float = 60) -> Iterator[RealServer]:
    """Start the server, wait for its banner and keys, yield it, stop it with SIGTERM."""
    process = subprocess.Popen(
        [str(CLI), "serve", "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read_output() -> None:  # keeps the pipe drained for the server's whole life
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("  eal_test_") and "read,write,admin" in line and len(_keys(lines)) == 3:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    try:
        ready.wait(timeout)
        port = next((int(m.group(1)) for line in lines if (m := BANNER.search(line))), None)
        assert port is not None and process.poll() is None, "the server did not start:\n" + "".join(lines)
        yield RealServer(process, port, _keys(lines), lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError("the server did not stop within 30 s of SIGTERM") from None
        finally:
            reader.join(timeout=5)
            process.stdout.close()


def _keys(lines: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for line in lines:
        match = KEY.match(line)
        if match:
            keys.setdefault(match.group(2), match.group(1))
    return keys
