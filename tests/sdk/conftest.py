"""What partners point their tools at: a sandbox started as they start it (``eal-sandbox serve``,
a free loopback port) and the documents it serves.

The Node tools (redocly, openapi-typescript, typescript) are pinned in ``tests/sdk/package.json``
and installed into ``tests/sdk/node_modules`` by ``.ci/run`` (``npm ci``). Without them these
tests are skipped on a laptop and fail under CI (``CI`` set), like the /docs browser test.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SDK_DIR = Path(__file__).resolve().parent
NODE_BIN = SDK_DIR / "node_modules" / ".bin"
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT = 60
KEYS_IN_WORLD = 12  # the network and three locations, three keys each


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run this check (.ci/run installs the pinned Node tools)")
    pytest.skip(reason)


def node_tool(name: str) -> Path:
    """A pinned Node tool from tests/sdk/node_modules, or skip (fail under CI)."""
    tool = NODE_BIN / name
    if not tool.is_file():
        unavailable(f"{tool} is missing (cd tests/sdk && npm ci)")
    return tool


def tool_env() -> dict[str, str]:
    """The environment for tools: this venv's scripts (ruff for openapi-python-client) on PATH."""
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}


@dataclass
class Served:
    """A started sandbox: where it is and the keys it printed."""

    base_url: str
    admin_key: str  # the first location's admin key
    parent_admin_key: str  # the franchise network's admin key

    def fetch(self, path: str) -> bytes:
        with urllib.request.urlopen(f"{self.base_url}{path}", timeout=10) as response:
            return bytes(response.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def started_sandbox(*extra: str) -> Iterator[Served]:
    """``eal-sandbox serve`` on a free loopback port, until the block ends.

    Ready once it has printed its keys: the server binds the socket before it builds the app and
    prints them once the app is built."""
    port = free_port()
    command = [str(VENV_BIN / "eal-sandbox"), "serve", "--port", str(port), "--leads-per-org", "40", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=tool_env())
    lines: queue.Queue[str | None] = queue.Queue()
    pump = threading.Thread(target=_pump, args=(process, lines), daemon=True)
    pump.start()
    try:
        admin = _admin_keys(lines)
        yield Served(f"http://127.0.0.1:{port}", admin_key=admin[1], parent_admin_key=admin[0])
    finally:
        process.terminate()
        process.wait(timeout=30)
        pump.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _admin_keys(lines: queue.Queue[str | None]) -> list[str]:
    """The admin tokens in the order printed (network first, then its locations)."""
    seen: list[str] = []
    keys = 0
    while keys < KEYS_IN_WORLD:
        line = lines.get(timeout=START_TIMEOUT)
        if line is None:
            raise RuntimeError("eal-sandbox serve exited before it was ready")
        if line.strip().startswith("eal_test_"):
            keys += 1
            token, scopes = line.split()[:2]
            if "admin" in scopes.split(","):
                seen.append(token)
    return seen


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    """One started sandbox for the generated clients."""
    with started_sandbox() as running:
        yield running
