"""The app's own cost per request, with no server: GET /api/v1/leads?limit=20 and POST /api/v1/leads
called straight through WSGI on the embedded in-memory store (``--store redis://…`` for a fleet
worker's cost on one thread, with no other thread contending for the GIL).

Builds the app as ``eal-sandbox serve`` does, makes each request's environ once with werkzeug's
``EnvironBuilder`` (a fresh body stream per POST), and prints the median CPU µs/request (this
thread's CPU time, which drifts less than the wall clock on a shared machine) of ``--rounds`` rounds
of ``--requests`` calls each. Compare two code trees by running this alternately with each on
``PYTHONPATH``.
Run: ``python tests/benchmarks/bench_in_process.py [--requests 3000 --rounds 5]``.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]

from werkzeug.test import EnvironBuilder  # noqa: E402

from sandbox.web.app import create_app, sandbox_of  # noqa: E402
from tests.benchmarks.harness import LEAD_BODY  # noqa: E402

CONFIG = {"RATE_LIMIT": 1_000_000_000, "QUOTA_EVENTS_PER_MINUTE": 1_000_000_000}


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    if not status.startswith("2"):
        raise SystemExit(f"unexpected {status}")


def calls(app: Any, token: str) -> dict[str, Callable[[], None]]:
    """One callable per benchmarked request, each answering it once."""
    auth = {"Authorization": f"Bearer {token}"}
    get_environ = EnvironBuilder("/api/v1/leads", query_string="limit=20", headers=auth).get_environ()
    post_environ = EnvironBuilder(
        "/api/v1/leads", method="POST", headers=auth, data=LEAD_BODY, content_type="application/json"
    ).get_environ()
    body = LEAD_BODY.encode()

    def get() -> None:
        b"".join(app(dict(get_environ), _start_response))

    def post() -> None:
        environ = dict(post_environ)
        environ["wsgi.input"] = io.BytesIO(body)
        b"".join(app(environ, _start_response))

    return {"GET /api/v1/leads?limit=20": get, "POST /api/v1/leads": post}


def per_request_us(call: Callable[[], None], requests: int) -> float:
    started = time.thread_time()
    for _ in range(requests):
        call()
    return (time.thread_time() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--store", default="memory", help="memory, or redis://… / unix://… (a fleet worker's cost)")
    args = parser.parse_args()
    app = create_app({**CONFIG, "STORE": args.store})
    token = next(key["token"] for key in sandbox_of(app).world.keys if "admin" in key["scopes"])
    gc.freeze()  # as the front door does once the app is built
    for name, call in calls(app, token).items():
        per_request_us(call, 200)  # warm up
        rounds = [per_request_us(call, args.requests) for _ in range(args.rounds)]
        each = ", ".join(f"{figure:.0f}" for figure in rounds)
        print(f"{name:28} {statistics.median(rounds):7.1f} CPU µs/request (rounds: {each})")


if __name__ == "__main__":
    main()
