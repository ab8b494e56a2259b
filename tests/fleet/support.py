"""A fleet on loopback: ``eal-sandbox serve --store redis://…`` processes behind Debian's nginx.

``Fleet`` starts ``count`` server processes on free ports, sharing one Redis database, and an nginx
round-robin in front of them (no retry of a request once it was sent: a process killed mid-request
answers 502 through nginx, as a real proxy would). Processes can be killed (``kill -9``) and started
again on the same port; nginx keeps sending to the live ones.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

CLI = Path(sys.executable).with_name("eal-sandbox")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_nginx() -> None:
    """Skip without Debian's nginx — fail under CI (``CI`` set), where .ci/run installs it."""
    if not os.path.exists(NGINX):
        missing = f"{NGINX} is missing (Debian's nginx: .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)


class ServerProcess:
    """One ``eal-sandbox serve`` on a fixed loopback port; its output is kept for failure messages."""

    def __init__(self, port: int, store: str, env: Mapping[str, str], *extra: str) -> None:
        self.port, self.store, self.env, self.extra = port, store, dict(env), extra
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._drain_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [str(CLI), "serve", "--port", str(self.port), "--store", self.store, *self.extra]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **self.env}
        )
        self._drain_thread = threading.Thread(target=self._drain, args=(self.process,), daemon=True)
        self._drain_thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"eal-sandbox serve exited ({self.process.returncode}):\n{''.join(self.output)}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"eal-sandbox serve did not answer in {START_TIMEOUT} s:\n{''.join(self.output)}")

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)

    def kill(self) -> None:
        """``kill -9``: no shutdown, no cleanup — what a crashed or OOM-killed host leaves."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self._reap()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reap()

    def _reap(self) -> None:
        if self.process is None:
            return
        self.process.wait(timeout=30)
        if self._drain_thread is not None:
            self._drain_thread.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None


class Fleet:
    """``count`` server processes on one Redis database, and nginx round-robin in front of them."""

    def __init__(self, store: str, count: int = 2, env: Mapping[str, str] | None = None, *extra: str) -> None:
        self.store = store
        self.directory = tempfile.mkdtemp(prefix="eal-fleet-")
        self.servers = [ServerProcess(free_port(), store, env or {}, *extra) for _ in range(count)]
        self.nginx: subprocess.Popen[str] | None = None
        self.port = free_port()
        try:
            for server in self.servers:
                server.start()
            self._start_nginx()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start_nginx(self) -> None:
        upstreams = "\n".join(
            f"    server 127.0.0.1:{server.port} max_fails=1 fail_timeout=2s;" for server in self.servers
        )
        conf = Path(self.directory, "nginx.conf")
        conf.write_text(f"""
worker_processes 1;
pid {self.directory}/nginx.pid;
error_log {self.directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {self.directory}/body;
  proxy_temp_path {self.directory}/proxy;
  fastcgi_temp_path {self.directory}/fastcgi;
  uwsgi_temp_path {self.directory}/uwsgi;
  scgi_temp_path {self.directory}/scgi;
  upstream sandboxes {{
{upstreams}
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{self.port};
    location / {{
      proxy_pass http://sandboxes;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
      proxy_buffering off;
    }}
  }}
}}
""")
        self.nginx = subprocess.Popen(
            [NGINX, "-p", self.directory, "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.nginx.stderr.read() if self.nginx.stderr else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen in 15 s")

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **options)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        if self.nginx is not None:
            if self.nginx.poll() is None:
                self.nginx.terminate()
            self.nginx.wait(timeout=15)
            if self.nginx.stderr is not None:
                self.nginx.stderr.close()
        shutil.rmtree(self.directory, ignore_errors=True)
