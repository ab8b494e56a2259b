"""The sandbox against what a partner could pick instead, side by side in one run.

Servers (all on loopback, started here, stopped at the end):

- ``sandbox``: ``eal-sandbox serve`` as users run it (stateful, validated; the rate limit and the
  records and events quotas lifted, which thousands of POSTs a second would reach within a run)
- ``bare-flask``: a Flask app answering a constant 20-lead page, behind the same front door
- ``prism``: Prism 5 mocking the same ``openapi.yaml`` (static examples)
- ``json-server``: json-server 0.17 (stateful: each POST is stored), holding the sandbox's own
  first page of 20 leads; it pages with its own ``_limit=20``
- ``wiremock``: WireMock 3 standalone, static stubs answering the same page and a created lead
  (``--no-request-journal``, as its docs advise under load)

The Node tools are pinned in ``tests/benchmarks/peers/package.json`` (install:
``npm ci --prefix tests/benchmarks/peers``); WireMock's jar comes with its npm package; Java 17+
runs it. Every server gets a warm-up (WireMock a longer one, for its JIT), then wrk -t1 -c16 runs GET
/api/v1/leads?limit=20 and POST /api/v1/leads, rounds alternating between the servers; medians.
Run: ``python tests/benchmarks/bench_peers.py [--seconds 5 --rounds 3 --only sandbox,wiremock]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]

from tests.benchmarks.harness import (  # noqa: E402
    HERE,
    LEAD_BODY,
    LIFTED_LIMITS,
    ROOT,
    free_port,
    load,
    medians,
    post_script,
    table,
    wait_up,
    wrk,
)
from tests.support import real_server  # noqa: E402

PEERS = HERE / "peers"
BIN = PEERS / "node_modules" / ".bin"
WIREMOCK_JAR = (
    next((PEERS / "node_modules" / "wiremock" / "build").glob("wiremock-standalone-*.jar"), None)
    if (PEERS / "node_modules" / "wiremock" / "build").is_dir()
    else None
)
NAMES = ["sandbox", "bare-flask", "prism", "json-server", "wiremock"]


def page_and_lead(base_url: str, token: str) -> tuple[list[dict[str, object]], dict[str, object]]:
    """The sandbox's first page of 20 leads and one lead, so every peer answers the same bytes."""
    request = urllib.request.Request(f"{base_url}/api/v1/leads?limit=20", headers={"Authorization": f"Bearer {token}"})
    page = json.loads(urllib.request.urlopen(request, timeout=10).read())
    return page["data"], page["data"][0]


Started = dict[str, tuple[subprocess.Popen[bytes], int, str]]


def start_peers(names: list[str], work: Path, page: list[dict[str, object]], lead: dict[str, object]) -> Started:
    """Each peer's process, port and GET path."""
    started: Started = {}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if "bare-flask" in names:
        port = free_port()
        code = (
            f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
            "from bare_app import create_bare_app\nfrom sandbox.server import serve\n"
            f"serve(lambda _port, _announce: create_bare_app(page_size=20), '127.0.0.1', {port})\n"
        )
        started["bare-flask"] = (
            subprocess.Popen([sys.executable, "-c", code], **quiet),
            port,  # type: ignore[call-overload]
            "/api/v1/leads?limit=20",
        )
    if "prism" in names:
        port = free_port()
        started["prism"] = (
            subprocess.Popen(
                [str(BIN / "prism"), "mock", str(ROOT / "openapi.yaml"), "--host", "127.0.0.1", "--port", str(port)],
                **quiet,
            ),  # type: ignore[call-overload]
            port,
            "/api/v1/leads?limit=20",
        )
    if "json-server" in names:
        port = free_port()
        (work / "db.json").write_text(json.dumps({"leads": page}))
        (work / "routes.json").write_text(json.dumps({"/api/v1/*": "/$1"}))
        started["json-server"] = (
            subprocess.Popen(
                [
                    str(BIN / "json-server"),
                    "--quiet",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--routes",
                    "routes.json",
                    "db.json",
                ],
                cwd=work,
                **quiet,
            ),
            port,
            "/api/v1/leads?_limit=20",
        )  # type: ignore[call-overload]
    if "wiremock" in names:
        port = free_port()
        root = work / "wiremock"
        (root / "mappings").mkdir(parents=True)
        headers = {"Content-Type": "application/json"}
        stubs = {
            "list": {
                "request": {"method": "GET", "urlPath": "/api/v1/leads"},
                "response": {
                    "status": 200,
                    "headers": headers,
                    "body": json.dumps({"data": page, "next_cursor": "c2"}),
                },
            },
            "create": {
                "request": {"method": "POST", "urlPath": "/api/v1/leads"},
                "response": {"status": 201, "headers": headers, "body": json.dumps(lead)},
            },
        }
        for name, stub in stubs.items():
            (root / "mappings" / f"{name}.json").write_text(json.dumps(stub))
        started["wiremock"] = (
            subprocess.Popen(
                [
                    "java",
                    "-jar",
                    str(WIREMOCK_JAR),
                    "--port",
                    str(port),
                    "--bind-address",
                    "127.0.0.1",
                    "--root-dir",
                    str(root),
                    "--no-request-journal",
                    "--disable-banner",
                ],
                **quiet,
            ),  # type: ignore[call-overload]
            port,
            "/api/v1/leads?limit=20",
        )
    return started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=5, help="seconds of wrk per server and operation first")
    parser.add_argument("--jvm-warmup", type=float, default=30, help="the same for WireMock, whose JIT needs longer")
    parser.add_argument("--only", default=",".join(NAMES), help="comma-separated subset of: " + ", ".join(NAMES))
    args = parser.parse_args()
    names = [name for name in NAMES if name in args.only.split(",")]
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    if {"prism", "json-server", "wiremock"} & set(names) and not BIN.is_dir():
        raise SystemExit("the peers are not installed: npm ci --prefix tests/benchmarks/peers")
    if "wiremock" in names and not shutil.which("java"):
        raise SystemExit("WireMock needs Java 17 or later on PATH")
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    os.environ.update(LIFTED_LIMITS)  # the sandbox inherits them: no 429 within a run
    with real_server() as sandbox, tempfile.TemporaryDirectory() as scratch:
        token = sandbox.keys["read,write,admin"]
        page, lead = page_and_lead(sandbox.base_url, token)
        peers = start_peers(names, Path(scratch), page, lead)
        servers = {
            name: (sandbox.port, "/api/v1/leads?limit=20") if name == "sandbox" else peers[name][1:] for name in names
        }
        try:
            for port, path in servers.values():
                wait_up(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
            with post_script(token) as script:
                for name, (port, path) in servers.items():
                    warmup = args.jvm_warmup if name == "wiremock" else args.warmup
                    wrk(f"http://127.0.0.1:{port}{path}", warmup, token)
                    wrk(f"http://127.0.0.1:{port}/api/v1/leads", warmup, token, script)
                for _ in range(args.rounds):  # alternate, so drift on a shared VM hits every server alike
                    for op in ("GET", "POST"):
                        for name, (port, path) in servers.items():
                            url = f"http://127.0.0.1:{port}" + (path if op == "GET" else "/api/v1/leads")
                            runs.setdefault((name, op), []).append(
                                wrk(url, args.seconds, token, script if op == "POST" else None)
                            )
        finally:
            for process, _, _ in peers.values():
                process.terminate()
            for process, _, _ in peers.values():
                process.wait(timeout=30)
    results = {run: medians(figures) for run, figures in runs.items()}
    print(
        f"wrk -t1 -c16, warm-up {args.warmup:g} s, {args.rounds} alternating rounds of {args.seconds:g} s, "
        f"medians; POST body {LEAD_BODY}; {load()}"
    )
    print(table(results, {run: [r["rps"] for r in figures] for run, figures in runs.items()}))
    if "sandbox" in names:
        for op in ("GET", "POST"):
            sandbox_rps = results[("sandbox", op)]["rps"]
            ratios = ", ".join(
                f"{sandbox_rps / results[(name, op)]['rps']:.2f}× {name}"
                for name in names
                if name != "sandbox" and results[(name, op)]["rps"]
            )
            print(f"{op} /api/v1/leads: sandbox {sandbox_rps:,.0f} req/s = {ratios}")
    print(json.dumps({f"{name} {op}": figures for (name, op), figures in results.items()}))


if __name__ == "__main__":
    main()
