"""``eal-sandbox listen --forward-to`` end to end, as a partner runs it: ``eal-sandbox serve``
(a free loopback port), the sandbox's own webhook URL unreachable, ``listen`` and
``trigger`` as processes, a loopback receiver. Every wait is on a line or a delivery arriving."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.services.webhooks import verify_signature
from tests.sdk.conftest import VENV_BIN, Served, free_port, started_sandbox, tool_env
from tests.support import Receiver, auth

CLI = str(VENV_BIN / "eal-sandbox")
WAIT = 30.0
DELIVERY_HEADERS = {
    "content-type",
    "user-agent",
    "x-eal-timestamp",
    "x-eal-signature",
    "x-eal-event-id",
    "x-eal-event-type",
    "x-eal-delivery-id",
    "x-eal-delivery-attempt",
}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with started_sandbox("--max-streams", "4") as running:
        yield running


class Listen:
    """``eal-sandbox listen`` as a process: its stdout lines, waited on one by one."""

    def __init__(self, served: Served, forward_to: str, state: Path, *extra: str) -> None:
        env = {**tool_env(), "XDG_STATE_HOME": str(state), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [CLI, "listen", "--forward-to", forward_to, "--url", served.base_url, "--key", served.admin_key, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: list[str] = []
        threading.Thread(target=self._pump, args=(self.process.stdout, self.lines.put), daemon=True).start()
        self._stderr = threading.Thread(target=self._pump, args=(self.process.stderr, self.errors.append), daemon=True)
        self._stderr.start()

    @staticmethod
    def _pump(stream: Any, put: Any) -> None:
        with stream:
            for line in stream:
                put(line.rstrip("\n"))
        put(None)

    def line(self) -> str:
        line = self.lines.get(timeout=WAIT)
        assert line is not None, f"listen exited: {self.errors}"
        return line

    def stop(self, sig: int = signal.SIGINT) -> list[str]:
        """Send ``sig``; the lines printed until the process ended."""
        self.process.send_signal(sig)
        self.process.wait(timeout=WAIT)
        rest = []
        while (line := self.lines.get(timeout=WAIT)) is not None:
            rest.append(line)
        self._stderr.join(timeout=WAIT)  # stderr read to its end (and closed) too
        return rest


def trigger(served: Served, event: str = "lead.created") -> list[str]:
    """``eal-sandbox trigger`` as a process; the ids of the events it emitted, in order."""
    result = subprocess.run(
        [CLI, "trigger", event, "--url", served.base_url, "--key", served.admin_key],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=WAIT,
        check=True,
    )
    return re.findall(r"^emitted \S+ +(evt_\w+)$", result.stdout, re.M)


def print_secret(served: Served) -> str:
    result = subprocess.run(
        [CLI, "listen", "--print-secret", "--url", served.base_url, "--key", served.admin_key],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=WAIT,
        check=True,
    )
    return result.stdout


def closed_port() -> int:
    return free_port()  # nothing listens on it once the probe is closed


def test_listen_delivers_a_trigger_the_sandbox_cannot_deliver_and_restarts_lose_nothing(
    served: Served, tmp_path: Path
) -> None:
    unreachable = f"http://127.0.0.1:{closed_port()}/webhooks"
    subscription = httpx.post(
        f"{served.base_url}/api/v1/webhooks",
        headers=auth(served.admin_key),
        json={"url": unreachable, "events": ["lead.created"]},
    ).json()
    printed = print_secret(served)
    assert re.fullmatch(r"whsec_[A-Za-z0-9]{32}\n", printed)  # only the secret
    secret = printed.strip()

    receiver = Receiver()
    try:
        listen = Listen(served, receiver.url, tmp_path)
        ready = listen.line()
        assert ready.startswith("Ready! ") and ready.endswith(f"signing secret {secret}")

        first = trigger(served)  # audit.log.event, then lead.created
        lines = [listen.line() for _ in first]
        for line, event_id in zip(lines, first, strict=True):
            assert re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d  [a-z.]+ +{event_id}  \[200\]  \d+ ms", line)
        delivered = receiver.wait_for(len(first))
        lead = next(d for d in delivered if d.event_type == "lead.created")
        assert lead.event_id == first[-1]
        assert verify_signature(lead.body, lead.headers, secret)  # verifies with the printed secret
        assert DELIVERY_HEADERS <= set(lead.headers)
        assert lead.headers["user-agent"] == "EAL-Sandbox-Webhooks/1.0"

        # The sandbox itself could not deliver: its attempts to its own URL failed.
        attempts = httpx.get(
            f"{served.base_url}/_sandbox/webhooks/deliveries",
            params={"event_id": first[-1]},
            headers=auth(served.admin_key),
        ).json()["data"]
        assert attempts and all(a["url"] == unreachable and a["webhook_id"] == subscription["id"] for a in attempts)
        assert all(a["status"] != "delivered" for a in attempts)

        # Killed outright, then started again: the events emitted meanwhile arrive, none twice.
        listen.stop(signal.SIGKILL)
        while_down = trigger(served) + trigger(served, "lead.updated")
        listen = Listen(served, receiver.url, tmp_path)
        assert listen.line().startswith("Ready! ")
        for event_id in while_down:
            assert event_id in listen.line()
        after = trigger(served)
        for event_id in after:
            assert event_id in listen.line()
        received = [d.event_id for d in receiver.wait_for(len(first + while_down + after))]
        assert received == first + while_down + after

        summary = listen.stop(signal.SIGINT)
        assert summary and re.fullmatch(
            rf"Forwarded {len(while_down + after)} events in \d+m\d\ds "
            rf"\({len(while_down + after)} answered 2xx\); last event id \S+",
            summary[-1],
        )
    finally:
        receiver.close()


class CuttableProxy:
    """A loopback TCP proxy whose open connections the test can cut (a dropped network)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = threading.Semaphore(0)
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()
            self.accepted.release()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()

    def close(self) -> None:
        self.server.close()
        self.cut()


def test_a_dropped_connection_reconnects_and_resumes(served: Served, tmp_path: Path) -> None:
    proxy = CuttableProxy(int(served.base_url.rpartition(":")[2]))
    receiver = Receiver()
    try:
        through = Served(f"http://127.0.0.1:{proxy.port}", served.admin_key, served.parent_admin_key)
        listen = Listen(through, receiver.url, tmp_path, "--events", "lead.created")
        assert listen.line().startswith("Ready! Forwarding lead.created events of sandbox ")
        before = trigger(served)[-1]
        assert before in listen.line()
        proxy.cut()  # the network drops; listen reconnects through the proxy, after the last id it forwarded
        during = [trigger(served)[-1], trigger(served)[-1]]
        for event_id in during:
            assert event_id in listen.line()
        assert [d.event_id for d in receiver.wait_for(3)] == [before, *during]
        listen.stop()
        assert any("reconnected; resuming after" in line for line in listen.errors)
    finally:
        receiver.close()
        proxy.close()


def test_usage_mistakes_are_one_line(served: Served) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["listen", "--url", served.base_url, "--key", served.admin_key])
    assert missing.exit_code == 2
    assert missing.output.strip().splitlines() == [
        "Error: Missing option '--forward-to' (or give --print-secret) (see 'eal-sandbox listen -h')"
    ]
    scheme = runner.invoke(main, ["listen", "--forward-to", "ftp://127.0.0.1/x", "--url", served.base_url])
    assert scheme.exit_code == 2 and "is not an http:// or https:// URL" in scheme.output
    assert len(scheme.output.strip().splitlines()) == 1
    events = runner.invoke(main, ["listen", "--forward-to", "http://127.0.0.1:1/", "--events", "lead.exploded"])
    assert events.exit_code == 2 and "valid: call.received" in events.output
    read_key = next(
        line
        for line in subprocess.run(
            [CLI, "keys", "--seed", "42"], capture_output=True, text=True, env=tool_env(), timeout=WAIT
        ).stdout.splitlines()
        if line.strip().startswith("eal_test_") and line.split()[1] == "read"
    )
    refused = runner.invoke(main, ["listen", "--print-secret", "--url", served.base_url, "--key", read_key.split()[0]])
    assert refused.exit_code == 1 and "403 forbidden" in refused.output
