"""Fleet mode's figures, side by side in one run on this machine:

1. GET and POST /api/v1/leads (wrk on loopback, 16 connections) against one in-memory worker, one
   worker on Redis and two workers on Redis (``eal-sandbox serve --store redis://… --workers N``),
   and two workers on the same Redis through its Unix socket (``--store unix://…``, a fleet on one
   host), alternated over several rounds; median req/s, p50 and p99.
2. Redis bytes per untouched sandbox (``used_memory`` less client buffers, over 200 minted through the API) and per
   1,000 leads written into one sandbox; the time to mint one.
3. Redis round trips per request of each hot operation (an in-process app with a counting client).
4. With ``--round-trip-cost``: the memory-store sandbox making 0, 1 or 2 bare Redis PINGs a request
   (``pinging_app.py``), the same GET under the same wrk: what round trips alone cost here.

Starts its own ``redis-server`` (no persistence) on a free port. Run:
``python tests/benchmarks/bench_fleet.py [--seconds 10] [--rounds 3] [--only "redis, 2 workers"]
[--round-trip-cost] [--skip-throughput]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.harness import LIFTED_LIMITS, free_port, medians, post_script, wrk  # noqa: E402
from tests.support import RedisServer, auth, fresh_database, keys_by_role, make_app  # noqa: E402

CLI = Path(sys.executable).with_name("eal-sandbox")


class Served:
    """``eal-sandbox serve`` with a store and a number of worker processes (or ``command``, given the
    port, serving a sandbox as it does)."""

    def __init__(self, store: str, workers: int, command: Callable[[int], list[str]] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = (
            command(self.port)
            if command is not None
            else [str(CLI), "serve", "--port", str(self.port), "--store", store, "--workers", str(workers)]
        )
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env={**os.environ, **LIFTED_LIMITS}
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"{argv} did not come up")
        keys = httpx.get(self.url + "/_sandbox/keys").json()["data"]
        self.key = next(k["token"] for k in keys[3:] if "write" in k["scopes"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of these processes and their children (Linux /proc)."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def measured(url: str, seconds: int, key: str, script: str | None, sandbox: int, redis: int) -> dict[str, float]:
    """A wrk run, with the CPU the sandbox's processes and Redis spent per request (µs): a figure that,
    unlike req/s, holds when something else shares the machine."""
    before = cpu_seconds([sandbox]), cpu_seconds([redis])
    figures = wrk(url, seconds, key, script, threads=2)
    done = max(1.0, figures["rps"] * seconds)
    figures["sandbox_cpu_us"] = (cpu_seconds([sandbox]) - before[0]) / done * 1e6
    figures["redis_cpu_us"] = (cpu_seconds([redis]) - before[1]) / done * 1e6
    return figures


def throughput(server: RedisServer, seconds: int, rounds: int, only: list[str]) -> None:
    # Every round starts each setup on an untouched sandbox, as a memory worker's fresh world does:
    # reused, a Redis database would hold the leads the last round's POSTs wrote.
    setups: dict[str, tuple[Callable[[], str], int]] = {
        "memory, 1 worker": (lambda: "memory", 1),
        "redis, 1 worker": (lambda: fresh_database(server.url), 1),
        "redis, 2 workers": (lambda: fresh_database(server.url), 2),
        # the same server through its Unix socket
        "redis unix, 2 workers": (lambda: server.unix_url(int(fresh_database(server.url).rsplit("/", 1)[1])), 2),
    }
    setups = {name: setup for name, setup in setups.items() if not only or name in only or name == "memory, 1 worker"}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with post_script(None) as lua:
        for _ in range(rounds):
            for name, (store, workers) in setups.items():  # one server at a time: they share two cores
                served = Served(store(), workers)
                try:
                    wrk(served.url + "/api/v1/leads?limit=20", 2, served.key, threads=2)  # warm up
                    for operation, script in (("GET /api/v1/leads", None), ("POST /api/v1/leads", lua)):
                        url = served.url + "/api/v1/leads" + ("?limit=20" if script is None else "")
                        results.setdefault((name, operation), []).append(
                            measured(url, seconds, served.key, script, served.process.pid, server.processes[0].pid)
                        )
                finally:
                    served.stop()
    print(f"\nThroughput ({rounds} rounds of {seconds} s, wrk -t2 -c16, medians):")
    print(
        f"{'setup':<22} {'operation':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
        f"{'CPU µs/req':>11} {'Redis µs':>9}"
    )
    for (name, operation), runs in results.items():
        med = medians(runs)
        print(
            f"{name:<22} {operation:<20} {med['rps']:>8.0f} {med['p50_ms']:>8.2f} {med['p99_ms']:>8.2f} "
            f"{med['non_2xx']:>8.0f} {med['sandbox_cpu_us']:>11.0f} {med['redis_cpu_us']:>9.0f}"
        )
    base = statistics.median(run["rps"] for run in results[("memory, 1 worker", "GET /api/v1/leads")])
    for name in [name for name in ("redis, 2 workers", "redis unix, 2 workers") if name in setups]:
        two = statistics.median(run["rps"] for run in results[(name, "GET /api/v1/leads")])
        print(f"GET /api/v1/leads: {name} serve {two / base:.2f}x one in-memory worker")


def round_trip_cost(server: RedisServer, seconds: int, rounds: int) -> None:
    """What a Redis round trip alone costs here: the memory-store sandbox (one worker, same front door)
    making 0, 1 or 2 bare PINGs per request (``pinging_app.py``), GET /api/v1/leads under wrk as above."""
    redis_port, redis_pid = str(server.ports[0]), server.processes[0].pid
    script = str(Path(__file__).with_name("pinging_app.py"))
    results: dict[int, list[dict[str, float]]] = {}
    for _ in range(rounds):
        for pings in (0, 1, 2):
            served = Served(
                "memory",
                1,
                lambda port, pings=pings: [sys.executable, script, str(port), str(pings), "127.0.0.1", redis_port],
            )
            try:
                url = served.url + "/api/v1/leads?limit=20"
                wrk(url, 2, served.key, threads=2)  # warm up
                results.setdefault(pings, []).append(
                    measured(url, seconds, served.key, None, served.process.pid, redis_pid)
                )
            finally:
                served.stop()
    print(f"\nA round trip's own cost ({rounds} rounds of {seconds} s; memory store, 1 worker, N bare PINGs a GET):")
    print(f"{'PINGs a request':<16} {'req/s':>8} {'p99 ms':>8} {'CPU µs/req':>11} {'Redis µs':>9}")
    for pings, runs in results.items():
        med = medians(runs)
        print(
            f"{pings:<16} {med['rps']:>8.0f} {med['p99_ms']:>8.2f} {med['sandbox_cpu_us']:>11.0f} "
            f"{med['redis_cpu_us']:>9.0f}"
        )


def stored_bytes(client: Any) -> int:
    """Redis's memory less its clients' buffers: each connection a worker's thread opens (lazily, on its
    first command) holds tens of KB of buffers that are not any sandbox's."""
    memory = client.info("memory")
    return int(memory["used_memory"]) - int(memory.get("mem_clients_normal", 0))


def footprint(redis_url: str) -> None:
    import redis

    database = fresh_database(redis_url)
    client = redis.Redis.from_url(database)
    served = Served(database, 1)
    try:
        with httpx.Client(base_url=served.url, timeout=30) as http:
            http.post("/_sandbox/sandboxes", json={})  # the first one loads scripts and warms caches
            time.sleep(0.5)
            before = stored_bytes(client)
            count, started = 200, time.perf_counter()
            minted = [http.post("/_sandbox/sandboxes", json={}).json() for _ in range(count)]
            mint_ms = (time.perf_counter() - started) / count * 1000
            time.sleep(0.5)
            untouched = (stored_bytes(client) - before) / count
            sandbox_id = minted[0]["id"]
            token = next(k["token"] for k in minted[0]["keys"][3:] if "write" in k["scopes"])

            def keys_bytes() -> int:
                return sum(client.memory_usage(key) or 0 for key in client.scan_iter(match=f"sbx:{{{sandbox_id}}}:*"))

            empty = keys_bytes()
            for n in range(1000):
                made = http.post(
                    "/api/v1/leads",
                    headers=auth(token),
                    json={"name": "Bench Lead", "email": f"lead{n}@example.com", "source": "website"},
                )
                assert made.status_code == 201, made.text
            written = keys_bytes() - empty
    finally:
        served.stop()
    print("\nRedis footprint:")
    print(
        f"  an untouched sandbox: {untouched:.0f} bytes (used_memory less its clients' buffers, "
        f"over {count} minted through the API)"
    )
    print(f"  minting one (POST /_sandbox/sandboxes through HTTP): {mint_ms:.2f} ms")
    print(f"  minting one in-process (SandboxDirectory.create, as that request does): {minted_in_process(redis_url)}")
    print(
        f"  1,000 leads written through the API: {written / 1e6:.2f} MB in the sandbox's keys "
        "(records, indexes, audit entries, events, journal)"
    )


def minted_in_process(redis_url: str, count: int = 200) -> str:
    """p50 and p99 of ``SandboxDirectory.create`` on a fresh Redis database, over ``count``."""
    from sandbox.web.app import runtime_of

    app = make_app(STORE=fresh_database(redis_url))
    directory = runtime_of(app).sandboxes
    try:
        directory.create()  # scripts loaded, caches warm
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            directory.create()
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        runtime_of(app).close()
    timings.sort()
    return f"p50 {statistics.median(timings):.2f} ms, p99 {timings[int(count * 0.99) - 1]:.2f} ms over {count}"


def round_trips(redis_url: str) -> None:
    """Counts every command packet this process sends to Redis (a pipeline is one) while one request runs."""
    from redis.connection import Connection

    from sandbox.web.app import runtime_of, sandbox_of

    sent = [0]
    original = Connection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        original(self, command, check_health)

    database = fresh_database(redis_url)
    app = make_app(STORE=database, CLOCK_FROZEN=False, CLOCK_START=None, RATE_LIMIT=1_000_000)
    backend: Any = runtime_of(app).sandboxes.backend
    backend.jobs.stop()  # the pollers' own round trips would blur the count
    backend.timers.stop()
    keys = keys_by_role(sandbox_of(app))
    http = app.test_client()
    lead = http.post("/api/v1/leads", headers=auth(keys["write"]), json={"email": "rt@example.com"}).get_json()
    cases = {
        "GET /api/v1/leads": lambda: http.get("/api/v1/leads?limit=20", headers=auth(keys["read"])),
        "GET /api/v1/leads/{id}": lambda: http.get(f"/api/v1/leads/{lead['id']}", headers=auth(keys["read"])),
        "POST /api/v1/leads": lambda: http.post(
            "/api/v1/leads", headers=auth(keys["write"]), json={"email": "rt2@example.com"}
        ),
        "PATCH /api/v1/leads/{id}": lambda: http.patch(
            f"/api/v1/leads/{lead['id']}", headers=auth(keys["write"]), json={"lead_score": 50}
        ),
        "GET /api/v1/health": lambda: http.get("/api/v1/health", headers=auth(keys["read"])),
        "GET /api/v1/health (no key)": lambda: http.get("/api/v1/health"),
    }
    Connection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        print("\nRedis round trips per request (in-process app; the fleet's pollers stopped):")
        for name, action in cases.items():
            action()  # scripts loaded, caches warm
            trips = []
            for _ in range(5):
                before = sent[0]
                action()
                trips.append(sent[0] - before)
            print(f"  {name:<28} {statistics.median(trips):>3.0f}")
    finally:
        Connection.send_packed_command = original  # type: ignore[method-assign]
        runtime_of(app).close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--only", action="append", default=[], help="a setup to measure (repeatable; memory always)")
    parser.add_argument(
        "--round-trip-cost", action="store_true", help="also: the memory store making 0, 1 or 2 bare PINGs a request"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    server = RedisServer()
    try:
        round_trips(server.url)
        footprint(server.url)
        if not args.skip_throughput:
            throughput(server, args.seconds, args.rounds, args.only)
        if args.round_trip_cost:
            round_trip_cost(server, args.seconds, args.rounds)
    finally:
        server.close()


if __name__ == "__main__":
    main()
