"""Throughput of the validated sandbox against a bare Flask app, under the same server.

Starts ``eal-sandbox serve`` as users run it and the bare app (a constant JSON body) with the
same front door, then drives GET /api/v1/leads and POST /api/v1/leads with wrk on
loopback, alternating the two servers over several rounds, and prints median req/s and p50/p99
side by side. Also prints the per-request cost of the
compiled validators. Run: ``python tests/benchmarks/bench_http.py [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
POST_LUA = """
wrk.method = "POST"
wrk.body = '{"name": "Bench Lead", "email": "bench.lead@example.com", "source": "website"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def start_sandbox(port: int) -> tuple[subprocess.Popen[bytes], str]:
    cli = shutil.which("eal-sandbox") or str(Path(sys.executable).parent / "eal-sandbox")
    process = subprocess.Popen(
        [cli, "serve", "--port", str(port), "--rate-limit", "1000000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_up(f"http://127.0.0.1:{port}/api/v1/health")
    key = None
    assert process.stdout is not None
    while key is None:
        line = process.stdout.readline().decode()
        match = re.search(r"(eal_test_\w+)\s+read,write,admin", line)
        key = match.group(1) if match else None
    return process, key


def start_bare(port: int) -> subprocess.Popen[bytes]:
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
        "from bare_app import create_bare_app\n"
        "from sandbox.server import serve\n"
        f"serve(lambda _port, _announce: create_bare_app(), '127.0.0.1', {port})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    wait_up(f"http://127.0.0.1:{port}/api/v1/leads")
    return process


def wrk(url: str, key: str, seconds: int, script: str | None = None) -> dict[str, float]:
    args = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {key}"]
    if script:
        args += ["-s", script]
    output = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "rps": rps,
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


def _latency(output: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def validation_cost() -> float:
    """Microseconds per request for parameter + body validation on POST /api/v1/leads."""
    from sandbox.base.spec import load_spec
    from sandbox.services.validation import RequestValidator

    spec = load_spec()
    validator = RequestValidator(spec.by_id["create_lead"], spec.components)
    body = {"name": "Bench Lead", "email": "bench.lead@example.com", "source": "website"}
    rounds = 20000
    started = time.perf_counter()
    for _ in range(rounds):
        validator.check_parameters({}, {}, {})
        validator.check_body(body)
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternate sandbox and bare this many times; medians are reported"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    sandbox_port, bare_port = free_port(), free_port()
    sandbox, key = start_sandbox(sandbox_port)
    bare = start_bare(bare_port)
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(POST_LUA % key)
    try:
        # Alternate the two servers round by round so drift on a shared VM hits both alike.
        for _ in range(args.rounds):
            for op in ("GET", "POST"):
                for name, port in (("sandbox", sandbox_port), ("bare-flask", bare_port)):
                    base = f"http://127.0.0.1:{port}/api/v1/leads"
                    figures = wrk(base, key, args.seconds, lua.name if op == "POST" else None)
                    runs.setdefault((name, op), []).append(figures)
    finally:
        os.unlink(lua.name)
        sandbox.terminate()
        bare.terminate()
    results = {
        run: {field: statistics.median(r[field] for r in figures) for field in figures[0]}
        for run, figures in runs.items()
    }
    print(f"{'server':<12}{'op':<6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    for (name, op), figures in results.items():
        print(
            f"{name:<12}{op:<6}{figures['rps']:>10.0f}{figures['p50_ms']:>9.2f}"
            f"{figures['p99_ms']:>9.2f}{figures['non_2xx']:>9.0f}"
        )
    for op in ("GET", "POST"):
        ratio = results[("sandbox", op)]["rps"] / results[("bare-flask", op)]["rps"]
        per_round = [s["rps"] / b["rps"] for s, b in zip(runs[("sandbox", op)], runs[("bare-flask", op)], strict=True)]
        print(
            f"{op} /api/v1/leads: sandbox at {ratio:.0%} of bare-Flask req/s (median of "
            f"{args.rounds} alternating rounds; per round {', '.join(f'{r:.0%}' for r in per_round)})"
        )
    print(f"validation cost (POST /api/v1/leads params + body): {validation_cost():.1f} µs/request")
    print(json.dumps({f"{n} {o}": f for (n, o), f in results.items()}))


if __name__ == "__main__":
    main()
