"""The same sandbox app behind each candidate front door: throughput, and whether slow clients stop it.

Candidates (one process each, the app built the same way, 4 app threads):

- ``eal-sandbox serve``: granian's Rust HTTP core, bodies read on its event loop (sandbox/server/)
- granian's own WSGI interface (``granian --interface wsgi``, 4 blocking threads)
- gunicorn ``gthread`` (1 worker, 4 threads): the front door before this one, when installed
- waitress (4 threads), when installed (``pip install gunicorn waitress`` for both)

For each: wrk -t1 -c16 on GET /api/v1/leads?limit=20 and POST /api/v1/leads, rounds alternating
between the servers, medians; then the slow-client scenario of tests/server/slow_clients.py (shortened by
``--slow-seconds``): how many of a normal client's calls failed, and their p50/p99.
Run: ``python tests/benchmarks/bench_front_doors.py [--seconds 5 --rounds 3 --slow-seconds 20]``.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]

from tests.benchmarks.harness import HERE, free_port, load, medians, post_script, table, wait_up, wrk  # noqa: E402
from tests.server import slow_clients  # noqa: E402

THREADS = 4


def sandbox_app() -> Any:
    """The app every candidate serves (a factory: each server builds it in its own process)."""
    from sandbox.web.app import create_app

    app = create_app({"RATE_LIMIT": 1_000_000_000})
    gc.freeze()
    return app


def admin_token() -> str:
    from sandbox.web.app import create_app, sandbox_of

    keys = sandbox_of(create_app({"LEADS_PER_ORG": 1})).world.keys
    return next(key["token"] for key in keys if "admin" in key["scopes"])


def commands(port: int) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    found = {
        "eal-sandbox serve": [
            str(bin_dir / "eal-sandbox"),
            "serve",
            "--port",
            str(port),
            "--threads",
            str(THREADS),
            "--rate-limit",
            "1000000000",
        ],
        "granian wsgi": [
            str(bin_dir / "granian"),
            "--interface",
            "wsgi",
            "--factory",
            "--workers",
            "1",
            "--blocking-threads",
            str(THREADS),
            "--http",
            "1",
            "--no-ws",
            "--log-level",
            "warning",
            "--port",
            str(port),
            "bench_front_doors:sandbox_app",
        ],
    }
    if importlib.util.find_spec("gunicorn"):
        found["gunicorn gthread"] = [
            str(bin_dir / "gunicorn"),
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            str(THREADS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bench_front_doors:sandbox_app()",
        ]
    if importlib.util.find_spec("waitress"):
        found["waitress"] = [
            str(bin_dir / "waitress-serve"),
            "--threads",
            str(THREADS),
            "--listen",
            f"127.0.0.1:{port}",
            "--call",
            "bench_front_doors:sandbox_app",
        ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slow-seconds", type=float, default=20)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    token = admin_token()
    ports = {name: free_port() for name in commands(0)}
    servers = {
        name: subprocess.Popen(
            commands(ports[name])[name], cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for name in ports
    }
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    slow: dict[str, dict[str, object]] = {}
    try:
        for port in ports.values():
            wait_up(f"http://127.0.0.1:{port}/api/v1/health")
        with post_script(token) as script:
            for port in ports.values():  # warm-up
                wrk(f"http://127.0.0.1:{port}/api/v1/leads?limit=20", 2, token)
            for _ in range(args.rounds):
                for op in ("GET", "POST"):
                    for name, port in ports.items():
                        url = f"http://127.0.0.1:{port}/api/v1/leads" + ("?limit=20" if op == "GET" else "")
                        figures = wrk(url, args.seconds, token, script if op == "POST" else None)
                        runs.setdefault((name, op), []).append(figures)
        for name, port in ports.items():
            report = slow_clients.run(port, token, seconds=args.slow_seconds)
            slow[name] = report.summary()
            slow[name]["first_failures"] = report.probe_failures[:3]
    finally:
        for process in servers.values():
            process.terminate()
        for process in servers.values():
            process.wait(timeout=30)
    results = {run: medians(figures) for run, figures in runs.items()}
    print(f"wrk -t1 -c16, {args.rounds} alternating rounds of {args.seconds:g} s, medians; {load()}")
    print(table(results, {run: [r["rps"] for r in figures] for run, figures in runs.items()}))
    print(
        f"\nslow clients for {args.slow_seconds:g} s (200 idle, 50 trickling a head, 20 a body) "
        "while a normal client calls:"
    )
    print("| server | calls answered | calls failed | p50 ms | p99 ms | trickled bodies answered |")
    print("|---|---:|---:|---:|---:|---|")
    for name, summary in slow.items():
        print(
            f"| {name} | {summary['probes']} | {summary['probe_failures']} | {summary['p50_ms']} | "
            f"{summary['p99_ms']} | {summary['body_answers'] or 'none'} |"
        )
    print(json.dumps({"throughput": {f"{n} {o}": f for (n, o), f in results.items()}, "slow_clients": slow}))


if __name__ == "__main__":
    main()
