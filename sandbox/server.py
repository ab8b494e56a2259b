"""The front door of ``eal-sandbox serve``: granian's Rust HTTP/1.1 core, in this one process.

One process, because the world lives in memory. The listening socket is bound here, without
``SO_REUSEPORT`` (granian's own binder sets it), so a busy port fails at once instead of quietly
sharing its traffic with another sandbox, and ``--port 0`` knows the port it was given. HTTP is
parsed and written by granian's Rust runtime; Python sees only complete requests
(``http_bridge``). The worker is driven directly, the way granian's own process workers drive it,
because granian's supervisor would put the app in a second process; that is why granian is pinned
to one minor series.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from .http_bridge import Limits, ThreadedWsgi

LISTEN_BACKLOG = 1024
_REASONS = {
    errno.EADDRINUSE: "the address is already in use (is another server running on that port?)",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
    errno.EADDRNOTAVAIL: "that address is not one of this machine's",
}


class ServeError(Exception):
    """Why the server could not start, in one line."""


def listen(host: str, port: int, backlog: int = LISTEN_BACKLOG) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: any free port), or a ``ServeError``."""
    where = f"{host}:{port}"
    if not 0 <= port <= 65535:
        raise ServeError(f"cannot listen on {where}: a port is a number from 0 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise ServeError(f"cannot listen on {where}: unknown host ({error.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as error:
        sock.close()
        reason = _REASONS.get(error.errno or 0, (error.strerror or str(error)).lower())
        raise ServeError(f"cannot listen on {where}: {reason}") from None
    return sock


def serve(load_app: Callable[[int], Any], host: str, port: int, threads: int = 4,
          limits: Limits | None = None) -> None:
    """Bind, build the app (``load_app`` gets the port really bound), serve until SIGINT/SIGTERM."""
    sock = listen(host, port)
    try:
        app = load_app(sock.getsockname()[1])
        keep_collections_short()
        run(app, sock, threads, limits or Limits())
    finally:
        sock.close()


def keep_collections_short() -> None:
    """Keep full garbage collections from pausing every request for the whole heap.

    The seeded world (and its reset snapshot) lives as long as the process: it is moved out of the
    collector's generations now. What a full collection finds alive later (leads written, journal
    entries) is moved out too, so the next one looks only at what came since: under a stream of
    POSTs the pauses stop growing with the world (measured over 60 s of POSTs at 16 connections: full
    collections of 24 ms on average instead of up to 440 ms; p99 25 ms instead of 239 ms).
    Frozen objects are still freed when their last reference goes; only objects in a reference
    cycle outlive their use. werkzeug's request and its environ are one, so a full collection
    strands the requests being served at that moment (one per app thread at most, a few KiB each);
    full collections are rare outside floods of writes.
    """
    gc.freeze()
    if _refreeze not in gc.callbacks:
        gc.callbacks.append(_refreeze)


def _refreeze(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def run(app: Any, sock: socket.socket, threads: int, limits: Limits) -> None:
    """Serve ``app`` on a bound socket with granian until SIGINT or SIGTERM."""
    from granian import _granian
    from granian.http import HTTP1Settings

    core: Any = _granian  # its stub lags the extension (no ``ipc``, no ``serve_str``)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    front = ThreadedWsgi(app, threads, limits)
    front.start(loop)
    stop = core.WorkerSignal()
    stopped = loop.create_future()
    stop.add_cb(lambda: loop.call_soon_threadsafe(_resolve, stopped))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    http1 = HTTP1Settings(header_read_timeout=int(limits.header_seconds * 1000), keep_alive=True,
                          max_buffer_size=limits.head_buffer_bytes)
    worker = core.RSGIWorker(
        # granian's listener takes ownership of the descriptor it is given (it closes it on stop): a copy.
        worker_id=1, sock=(None, core.SocketHolder(os.dup(sock.fileno()), False, LISTEN_BACKLOG)), ipc=None,
        threads=1, blocking_threads=512, py_threads=1, py_threads_idle_timeout=30,
        backpressure=limits.max_connections, http_mode="1", http1_opts=http1, http2_opts=None,
        websockets_enabled=False, static_files=None, ssl_enabled=False)
    scheduler = _scheduler(core, loop, front)
    before = _native_threads()
    try:
        worker.serve_str(scheduler, loop, stop)
        loop.run_until_complete(stopped)
        _wait_for_threads_to_end(before)
    finally:
        front.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        tasks = asyncio.all_tasks(loop)  # the slow-body sweep, chunked bodies still being read
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()


def _scheduler(core: Any, loop: asyncio.AbstractEventLoop, front: ThreadedWsgi) -> Any:
    """What granian calls with each request (on its Python thread): ``front.schedule``, directly.

    granian's own schedulers start an asyncio task per request; a request without a body needs no
    event loop at all here, and skipping it is most of what this front door costs over the WSGI
    interface.
    """

    class Scheduler(core.CallbackScheduler):  # type: ignore[misc]
        def __init__(self, *_: Any) -> None:
            super().__init__()
            self._schedule_fn = front.schedule

    return Scheduler(loop, None, None, None, None)


def _native_threads() -> set[str] | None:
    """The ids of this process's threads that Python did not start (granian's), or None off Linux."""
    try:
        every = set(os.listdir("/proc/self/task"))
    except OSError:
        return None
    return every - {str(thread.native_id) for thread in threading.enumerate()}


def _wait_for_threads_to_end(before: set[str] | None, timeout: float = 5.0) -> None:
    """Wait (at most ``timeout``) for the threads granian started to end: one that outlives the
    interpreter panics on its way out, and granian reports it stopped just before it drops them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = _native_threads()
        if now is None or before is None or now <= before:
            return
        time.sleep(0.01)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
