"""``eal-sandbox serve --workers N``: N processes on one port, as a process tree a partner can see.

Run for real (a Redis of the suite's own, a free loopback port): the workers answer on the one
port; a worker killed with ``kill -9`` is replaced and nothing written through the server is lost;
SIGTERM stops the whole tree with exit code 0. Refusals (more than one worker on the in-memory
store, a store that cannot be reached) are one line and exit code 2, before the port is bound.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.fleet.support import CLI, ServerProcess, free_port
from tests.support import fresh_database

FAST = {"EAL_SANDBOX_LEADS_PER_ORG": "20"}


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(what)


def test_workers_share_one_port_survive_a_kill_and_stop_together(redis_url: str) -> None:
    server = ServerProcess(free_port(), fresh_database(redis_url), FAST, "--workers", "2")
    server.start()
    try:
        assert server.process is not None
        supervisor = server.process.pid
        workers = children(supervisor)
        assert len(workers) == 2
        # Either worker may answer first; the first one prints the banner once its app is built.
        wait_for(lambda: "API keys" in "".join(server.output), 30, "no banner")
        banner = "".join(server.output)
        assert banner.count("EAL Sandbox listening on") == 1  # one banner, from the first worker
        assert f"Workers: 2 processes on this port, sharing the store {server.store}" in banner
        with httpx.Client(base_url=server.url, timeout=10) as client:
            key = next(k["token"] for k in client.get("/_sandbox/keys").json()["data"] if "admin" in k["scopes"])
            headers = {"Authorization": f"Bearer {key}"}
            made = [
                client.post("/api/v1/leads", headers=headers, json={"email": f"w{n}@example.com"}).json()["id"]
                for n in range(20)
            ]
            killed = sorted(workers)[0]
            os.kill(killed, signal.SIGKILL)
            wait_for(lambda: len(children(supervisor) - {killed}) == 2, 30, "the killed worker was not replaced")
            wait_for(
                lambda: "was killed by SIGKILL; starting another" in "".join(server.output),
                10,
                "the supervisor did not say it replaced the worker",
            )
            for lead in made:  # every lead is there whichever worker answers
                answer = client.get(f"/api/v1/leads/{lead}", headers=headers)
                assert answer.status_code == 200, answer.text
        assert "".join(server.output).count("EAL Sandbox listening on") == 1  # a replacement prints no banner
        remaining = children(supervisor)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=40) == 0
        for worker in remaining:
            assert not Path(f"/proc/{worker}").exists() or "zombie" in Path(f"/proc/{worker}/status").read_text()
    finally:
        server.kill()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--workers", "2"], "--workers 2 needs a fleet store (--store redis://HOST:PORT/DB)"),
        (["--store", "redis://127.0.0.1:1/0"], "eal-sandbox serve: cannot use the store redis://127.0.0.1:1/0: "),
        (["--store", "redis://user:hunter2@127.0.0.1:1/0"], "cannot use the store redis://user:***@127.0.0.1:1/0: "),
        (["--store", "mongodb://127.0.0.1/0"], "STORE must be 'memory', redis://HOST:PORT/DB"),
        (["--store", "redis-cluster://127.0.0.1:1"], "cannot use the store redis-cluster://127.0.0.1:1: Redis Cluster"),
    ],
)
def test_a_server_that_cannot_start_says_why_in_one_line(args: list[str], line: str) -> None:
    port = free_port()
    done = subprocess.run(
        [str(CLI), "serve", "--port", str(port), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("EAL_SANDBOX_")},
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) <= 2 and line in done.stderr, done.stderr  # click's usage errors add a hint line
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr and done.stdout == ""


def test_workers_stop_when_their_supervisor_is_killed(redis_url: str) -> None:
    server = ServerProcess(free_port(), fresh_database(redis_url), FAST, "--workers", "2")
    server.start()
    assert server.process is not None
    workers = children(server.process.pid)
    assert len(workers) == 2
    server.kill()  # kill -9 of the supervisor: nobody is left to stop the workers but the kernel
    wait_for(
        lambda: not any(Path(f"/proc/{worker}").exists() for worker in workers),
        30,
        "the workers outlived their supervisor",
    )
    with pytest.raises(httpx.ConnectError):  # and the port is free of them
        httpx.get(server.url + "/api/v1/health", timeout=2)


def test_workers_that_keep_dying_on_start_up_stop_the_server(redis_url: str) -> None:
    # No seeded world may be built: every worker's app fails as it starts (the store itself is fine).
    done = subprocess.run(
        [str(CLI), "serve", "--port", str(free_port()), "--workers", "2", "--store", fresh_database(redis_url)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **FAST, "EAL_SANDBOX_MAX_SEEDED_WORLDS": "0"},
    )
    assert done.returncode == 1, done.stderr
    assert "Quota 'seeded_worlds' of 0 reached" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("; starting another") == 2  # two replacements, then it gives up
    assert done.stderr.strip().endswith("3 workers in a row died on start-up; stopping")


def established_by(pid: int, port: int) -> int:
    """How many connections to ``port`` the process ``pid`` has accepted (its sockets in /proc/net/tcp)."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        if local_port == port and state == "01" and inode in inodes:  # 01: ESTABLISHED
            count += 1
    return count


def test_workers_each_take_a_share_of_connections_opened_at_once(redis_url: str) -> None:
    # wrk's way: 16 keep-alive connections opened together. From one shared socket the worker that
    # was awake accepted 15 or 16 of them; with a socket each, the kernel spreads them by address.
    server = ServerProcess(free_port(), fresh_database(redis_url), FAST, "--workers", "2")
    server.start()
    try:
        assert server.process is not None
        wait_for(lambda: "API keys" in "".join(server.output), 30, "no banner")
        workers = sorted(children(server.process.pid))
        # A connection the kernel gives a worker still building its app waits in that worker's backlog.
        wait_for(lambda: all(established_by(worker, server.port) == 0 for worker in workers), 5, "stray connections")
        with httpx.Client(base_url=server.url, timeout=60) as warm:  # both apps built, first
            for _ in range(40):
                assert warm.get("/api/v1/health").status_code == 200
        opened = [socket.create_connection(("127.0.0.1", server.port), timeout=60) for _ in range(16)]
        try:
            for sock in opened:  # all 16 are pending before any is served
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: sandbox\r\n\r\n")
            for sock in opened:
                assert sock.recv(64).startswith(b"HTTP/1.1 200")
            shares = [established_by(worker, server.port) for worker in workers]
            assert sum(shares) == 16 and min(shares) >= 2, shares  # all but one on one worker: p = 34/65,536
        finally:
            for sock in opened:
                sock.close()
    finally:
        server.kill()


def test_a_port_held_by_workers_refuses_another_server_with_workers(redis_url: str) -> None:
    # The workers' sockets share their port (SO_REUSEPORT), but a second server may not join them.
    first = ServerProcess(free_port(), fresh_database(redis_url), FAST, "--workers", "2")
    first.start()
    try:
        done = subprocess.run(
            [str(CLI), "serve", "--port", str(first.port), "--store", first.store, "--workers", "2"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == (
            f"eal-sandbox serve: cannot listen on 127.0.0.1:{first.port}: the address is already in use "
            "(is another server running on that port?)"
        )
    finally:
        first.kill()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_workers_sockets_know_when_another_server_joined_their_port(host: str) -> None:
    # Two servers may both pass the probe (between its close and their binds): each then sees a
    # listener that is not its own on the port and refuses it (``_worker_sockets``).
    from sandbox.server import listen, shared_with_others

    probe = listen(host, 0)
    port = probe.getsockname()[1]
    probe.close()
    ours = [listen(host, port, reuse_port=True) for _ in range(2)]
    try:
        assert not shared_with_others(ours)
        other_address = listen("127.0.0.2" if host == "127.0.0.1" else "::", port, reuse_port=True)
        try:
            assert not shared_with_others(ours)  # another address on the same port is not ours to refuse
        finally:
            other_address.close()
        joined = listen(host, port, reuse_port=True)  # another server's socket, bound alike
        try:
            assert shared_with_others(ours)
        finally:
            joined.close()
    finally:
        for sock in ours:
            sock.close()
