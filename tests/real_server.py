"""``eal-sandbox serve`` run for real, as users run it, on a free loopback port (``--port 0``)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CLI = Path(sys.executable).parent / "eal-sandbox"
BANNER = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/api/v1")
KEY = re.compile(r"^\s+(eal_test_\w+)\s+(\S+)\s")


@dataclass
class RealServer:
    process: subprocess.Popen[str]
    port: int
    keys: dict[str, str]  # scopes ("read", "read,write", "read,write,admin") -> the first such key
    output: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def real_server(*args: str, timeout: float = 60) -> Iterator[RealServer]:
    """Start the server, wait for its banner and keys, yield it, stop it with SIGTERM."""
    process = subprocess.Popen([str(CLI), "serve", "--port", "0", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read_output() -> None:  # keeps the pipe drained for the server's whole life
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("  eal_test_") and "read,write,admin" in line and len(_keys(lines)) == 3:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    try:
        ready.wait(timeout)
        port = next((int(m.group(1)) for line in lines if (m := BANNER.search(line))), None)
        assert port is not None and process.poll() is None, "the server did not start:\n" + "".join(lines)
        yield RealServer(process, port, _keys(lines), lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError("the server did not stop within 30 s of SIGTERM") from None
        finally:
            reader.join(timeout=5)
            process.stdout.close()


def _keys(lines: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for line in lines:
        match = KEY.match(line)
        if match:
            keys.setdefault(match.group(2), match.group(1))
    return keys
