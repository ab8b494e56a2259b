"""What the HTTP benchmarks share: free ports, waiting for a server, wrk runs, medians, the table."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LEAD_BODY = '{"name": "Bench Lead", "email": "bench.lead@example.com", "source": "website"}'
# The limits a load run would hit, lifted for `eal-sandbox serve` (its environment): at thousands of
# POSTs a second, the records quota (100,000 per kind: each lead adds an audit event too) and the
# events quota (60,000 a minute) would otherwise answer 429 within a run.
LIFTED_LIMITS = {
    "EAL_SANDBOX_RATE_LIMIT": "1000000000",
    "EAL_SANDBOX_QUOTA_RECORDS_PER_KIND": "10000000",
    "EAL_SANDBOX_QUOTA_EVENTS_PER_MINUTE": "10000000",
}
WRK_THREADS, WRK_CONNECTIONS = 1, 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, timeout: float = 120, headers: dict[str, str] | None = None) -> None:
    """Return once ``url`` answers at all (any status), or exit."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


@contextmanager
def post_script(token: str | None) -> Iterator[str]:
    """A wrk Lua script that POSTs the benchmark lead (with a bearer token when given)."""
    lines = ['wrk.method = "POST"', f"wrk.body = '{LEAD_BODY}'", 'wrk.headers["Content-Type"] = "application/json"']
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        yield script.name
    finally:
        os.unlink(script.name)


def wrk(
    url: str, seconds: float, token: str | None = None, script: str | None = None, threads: int = WRK_THREADS
) -> dict[str, float]:
    """One wrk run (-t1 -c16 unless told): req/s, p50/p99 in ms, and how many answers were not 2xx/3xx."""
    args = ["wrk", f"-t{threads}", f"-c{WRK_CONNECTIONS}", f"-d{seconds:g}s", "--latency"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    if script:
        args += ["-s", script]
    output = subprocess.run([*args, url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": float(sum(int(n) for n in errors.groups())) if errors else 0.0,
    }


def _latency(output: str, label: str) -> float:
    match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", output)
    if not match:
        return float("nan")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def table(results: dict[tuple[str, str], dict[str, float]], rounds: dict[tuple[str, str], list[float]]) -> str:
    """The figures as a Markdown table (medians; per-round req/s in the last column)."""
    lines = [
        "| server | op | req/s | p50 ms | p99 ms | non-2xx | rounds (req/s) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for (name, op), figures in results.items():
        per_round = ", ".join(f"{r:,.0f}" for r in rounds[(name, op)])
        lines.append(
            f"| {name} | {op} | {figures['rps']:,.0f} | {figures['p50_ms']:.2f} | {figures['p99_ms']:.2f} "
            f"| {figures['non_2xx']:.0f} | {per_round} |"
        )
    return "\n".join(lines)


def load() -> str:
    """The machine's load average, to print next to figures taken on a shared VM."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
