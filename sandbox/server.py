"""Serve an app with gunicorn: one process (the world is in memory), many threads."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


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


def server_options(host: str, port: int, threads: int = 4) -> dict[str, Any]:
    # A single worker: every request must see the same in-memory world.
    return {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": 5,
        "timeout": 120,
        "accesslog": None,
        "loglevel": "warning",
    }


def serve(load_app: Callable[[], Flask], host: str, port: int, threads: int = 4) -> None:
    SandboxServer(load_app, server_options(host, port, threads)).run()
