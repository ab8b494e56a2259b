"""The embedded (memory-store) sandbox, each request first making ``pings`` bare Redis round trips (a
RESP ``PING`` on a socket of its thread's, TCP_NODELAY): what a round trip alone costs a worker and
Redis on this machine, whatever it carries — the floor under the fleet's GET, which makes two.

Run by ``bench_fleet.py --round-trip-cost``:
``python tests/benchmarks/pinging_app.py PORT PINGS REDIS_HOST REDIS_PORT`` serves it behind the
same front door as ``eal-sandbox serve`` (one worker); the benchmark reads its keys from
``/_sandbox/keys``.
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]

from sandbox.server import serve  # noqa: E402
from sandbox.web.app import create_app  # noqa: E402
from tests.benchmarks.harness import LIFTED_LIMITS  # noqa: E402

PING, PONG = b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"


class Pinging:
    """WSGI middleware: ``pings`` round trips to Redis before the app answers."""

    def __init__(self, app: Any, pings: int, redis_at: tuple[str, int]) -> None:
        self.app, self.pings, self.redis_at = app, pings, redis_at
        self.local = threading.local()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        for _ in range(self.pings):
            self._round_trip()
        return self.app(environ, start_response)

    def _round_trip(self) -> None:
        connection: socket.socket | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = socket.create_connection(self.redis_at)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sendall(PING)
        if connection.recv(64) != PONG:
            raise RuntimeError("Redis did not answer PONG")


def main() -> None:
    port, pings, redis_host, redis_port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    # the limits lifted, as bench_fleet serves the sandbox
    config = {name.removeprefix("EAL_SANDBOX_"): int(value) for name, value in LIFTED_LIMITS.items()}

    def load_app(_port: int, _announce: bool) -> Any:
        app = create_app(config)
        app.wsgi_app = Pinging(app.wsgi_app, pings, (redis_host, redis_port))  # type: ignore[method-assign]
        return app

    sys.exit(serve(load_app, "127.0.0.1", port))


if __name__ == "__main__":
    main()
