"""Driving granian's worker in this process, the way granian's own process workers drive it.

granian's supervisor would put the app in a second process; this starts its RSGI worker on a
socket bound by ``sandbox.server``, hands each request to ``ThreadedWsgi.schedule`` directly and
stops on SIGINT/SIGTERM. It uses granian's private extension module (``granian._granian``), which
is why granian is pinned to one minor series.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from typing import Any

from .bridge import Limits, ThreadedWsgi

LISTEN_BACKLOG = 1024


def run(app: Any, sock: socket.socket, threads: int, limits: Limits, concurrent: bool = False) -> None:
    """Serve ``app`` on a bound socket with granian until SIGINT or SIGTERM (``concurrent``: every
    app thread works at once, for requests that wait on a fleet store)."""
    from granian import _granian
    from granian.http import HTTP1Settings

    core: Any = _granian  # its stub lags the extension (no ``ipc``, no ``serve_str``)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    front = ThreadedWsgi(app, threads, limits, concurrent)
    front.start(loop)
    stop = core.WorkerSignal()
    stopped = loop.create_future()
    stop.add_cb(lambda: loop.call_soon_threadsafe(_resolve, stopped))

    def on_signal() -> None:
        _end_streams(app)  # each open event stream holds a connection that would keep the stop waiting
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    http1 = HTTP1Settings(
        header_read_timeout=int(limits.header_seconds * 1000), keep_alive=True, max_buffer_size=limits.head_buffer_bytes
    )
    worker = core.RSGIWorker(
        # granian's listener takes ownership of the descriptor it is given (it closes it on stop): a copy.
        worker_id=1,
        sock=(None, core.SocketHolder(os.dup(sock.fileno()), False, LISTEN_BACKLOG)),
        ipc=None,
        threads=1,
        blocking_threads=512,
        py_threads=1,
        py_threads_idle_timeout=30,
        backpressure=limits.max_connections,
        http_mode="1",
        http1_opts=http1,
        http2_opts=None,
        websockets_enabled=False,
        static_files=None,
        ssl_enabled=False,
    )
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


def _end_streams(app: Any) -> None:
    """Tell the app's open event streams to end (their ``end`` message says the server is stopping).
    On a thread of its own: ending them takes their locks."""
    runtime = getattr(app, "extensions", {}).get("eal_sandbox")
    streams = getattr(getattr(runtime, "sandboxes", None), "streams", None)
    if streams is not None:
        threading.Thread(target=streams.close, name="end-streams", daemon=True).start()


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
