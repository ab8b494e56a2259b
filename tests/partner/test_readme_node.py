"""The README's two Node receivers, taken from README.md as written (so the README is what is
tested) and run with Node against a sandbox on a free loopback port: a triggered delivery
verifies, and check-receiver passes every check against each.

Without ``node`` the test is skipped on a laptop and fails under CI (``CI`` set), where
``.ci/run`` installs Node when it is missing.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.cli.receiver_check import check_receiver

README = Path(__file__).resolve().parents[2] / "README.md"

# Test-only glue for the Fetch-style handler: Node 20 has Request/Response but no server that
# takes a fetch handler, so this adapts node:http to it (a framework does the same for you).
FETCH_ADAPTER = """\
import http from "node:http"
import { POST } from "./webhook.mjs"

const port = Number(process.env.PORT)
http.createServer(async (req, res) => {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const request = new Request(`http://127.0.0.1:${port}${req.url}`,
    { method: req.method, headers: req.headers, body: Buffer.concat(chunks) })
  const response = await POST(request)
  res.writeHead(response.status, Object.fromEntries(response.headers))
  res.end(Buffer.from(await response.arrayBuffer()))
}).listen(port, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${port}/`))
"""


def snippet(name: str) -> str:
    """The ```js block that follows ``<!-- snippet: name …-->`` in README.md."""
    text = README.read_text(encoding="utf-8")
    marker = text.index(f"<!-- snippet: {name} ")
    block = re.match(r"<!--[^\n]*-->\n```js\n(.*?)```\n", text[marker:], re.S)
    assert block, f"README.md: no ```js block right after the {name} marker"
    return block[1]


def missing(reason: str) -> None:
    """Skip on a laptop; under CI (``CI`` set) the README's snippets must run, so fail."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the README's Node receivers (.ci/run installs Node)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        missing("node is not installed")
    assert found is not None
    return found


def node_major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    return int(version.strip().lstrip("v").split(".")[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class NodeProcess:
    """``node script`` with its output read line by line on a thread (no sleeps: we wait on lines)."""

    def __init__(self, node: str, script: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [node, str(script)],
            cwd=script.parent,
            env={"PATH": os.environ.get("PATH", ""), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, prefix: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"node printed no line starting {prefix!r}; it printed {self.seen}") from None
            if line is None:
                raise AssertionError(f"node exited ({self.process.wait()}) before {prefix!r}; it printed {self.seen}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.reader.join(timeout=10)  # it ends at the pipe's end of file
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def start_node(node: str) -> Iterator[Any]:
    started: list[NodeProcess] = []

    def start(script: Path, env: dict[str, str]) -> NodeProcess:
        started.append(NodeProcess(node, script, env))
        return started[-1]

    start.node = node  # type: ignore[attr-defined]
    yield start
    for process in started:
        process.stop()


@pytest.mark.parametrize("version", ["node-http-receiver", "fetch-handler"])
def test_the_readme_receiver_verifies_live_deliveries(
    version: str, tmp_path: Path, live_sandbox: Any, start_node: Any
) -> None:
    if version == "fetch-handler" and node_major(start_node.node) < 20:  # global Web Crypto and Request
        missing("the Fetch-style handler needs Node 20 or later")
    if version == "node-http-receiver":
        script = tmp_path / "receiver.mjs"
        script.write_text(snippet(version), encoding="utf-8")
    else:
        (tmp_path / "webhook.mjs").write_text(snippet(version), encoding="utf-8")
        script = tmp_path / "serve.mjs"
        script.write_text(FETCH_ADAPTER, encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    keys = live_sandbox.keys
    with httpx.Client(base_url=live_sandbox.base_url, timeout=10) as api:
        created = api.post(
            "/api/v1/webhooks",
            headers={"Authorization": f"Bearer {keys['admin']}"},
            json={"url": url, "events": ["lead.created"]},
        )
        assert created.status_code == 201, created.text
        webhook = created.json()
        receiver = start_node(script, {"EAL_WEBHOOK_SECRET": webhook["signing_secret"], "PORT": str(port)})
        receiver.wait_for(f"listening on {url}")

        triggered = api.post(
            "/_sandbox/trigger", headers={"Authorization": f"Bearer {keys['write']}"}, json={"event": "lead.created"}
        )
        assert triggered.status_code == 201, triggered.text
        event_id = next(e["id"] for e in triggered.json()["events"] if e["type"] == "lead.created")
        receiver.wait_for(f"verified lead.created {event_id}")
        assert live_sandbox.sandbox.webhooks.settle(None, 5)
        deliveries = api.get(
            f"/api/v1/webhooks/{webhook['id']}/deliveries", headers={"Authorization": f"Bearer {keys['read']}"}
        ).json()["data"]
        assert [(d["event_id"], d["status"], d["response_status"]) for d in deliveries] == [
            (event_id, "delivered", 200)
        ]

    results = check_receiver(url, webhook["signing_secret"])
    assert [(r.name, r.result) for r in results if r.result != "PASS"] == []
