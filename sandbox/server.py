"""Serve an app with gunicorn: one process (the world is in memory), many threads."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from .base.errors import server_error_body


class SandboxServer(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured in code rather than from a file or argv."""

    def __init__(self, load_app: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._load_app = load_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        app = self._load_app()
        # The seeded world (and its reset snapshot) lives as long as the process: move it out of the
        # collector's generations so full collections, whose pauses grow with the heap, skip it.
        gc.freeze()
        return app


class SandboxWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker, which also ends the app's event streams when told to stop: each
    holds a thread until it ends, and the worker would otherwise wait for them (SIGTERM) or the
    interpreter would (SIGINT, SIGQUIT)."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        _end_streams(self.wsgi)
        super().handle_exit(sig, frame)

    def handle_quit(self, sig: int, frame: Any) -> None:
        _end_streams(self.wsgi)
        super().handle_quit(sig, frame)


def _end_streams(app: Any) -> None:
    runtime = getattr(app, "extensions", {}).get("eal_sandbox")
    if runtime is not None:  # off the signal handler's frame: it takes the streams' locks
        threading.Thread(target=runtime.sandboxes.streams.close, name="end-streams").start()


def server_options(host: str, port: int, threads: int = 4) -> dict[str, Any]:
    # A single worker: every request must see the same in-memory world.
    return {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": SandboxWorker,
        "threads": threads,
        "keepalive": 5,
        "timeout": 120,
        "accesslog": None,
        "loglevel": "warning",
    }


def write_json_error(sock: Any, status: int, reason: str, message: str) -> None:
    """gunicorn's answer to HTTP it cannot parse, as the API's error envelope instead of HTML."""
    body = server_error_body(status, reason, message)
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def serve(load_app: Callable[[], Flask], host: str, port: int, threads: int = 4) -> None:
    # Malformed HTTP (a bad request line, a URI over 4094 bytes, oversized headers, bad chunking)
    # is answered by gunicorn before the app sees it, with an HTML page; this process serves only
    # the sandbox, so its error writer is replaced for the whole process.
    util.write_error = write_json_error
    SandboxServer(load_app, server_options(host, port, threads)).run()
