"""The front door of ``eal-sandbox serve``: granian's Rust HTTP/1.1 core, in this one process.

One process, because the world lives in memory. The listening socket is bound here, without
``SO_REUSEPORT`` (granian's own binder sets it), so a busy port fails at once instead of quietly
sharing its traffic with another sandbox, and ``--port 0`` knows the port it was given. (A fleet's
``--workers N`` then binds a socket per worker on that port, with ``SO_REUSEPORT``.) HTTP is
parsed and written by granian's Rust runtime (``worker``, which drives it); Python sees only
complete requests (``bridge``), and one thread runs the app (``app_threads``).
"""

from __future__ import annotations

import errno
import gc
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from .bridge import Limits
from .worker import LISTEN_BACKLOG, run
from .workers import supervise

_REASONS = {
    errno.EADDRINUSE: "the address is already in use (is another server running on that port?)",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
    errno.EADDRNOTAVAIL: "that address is not one of this machine's",
}


class ServeError(Exception):
    """Why the server could not start, in one line."""


def listen(host: str, port: int, backlog: int = LISTEN_BACKLOG, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: any free port), or a ``ServeError``.
    ``reuse_port``: one of several sockets on the same port (``SO_REUSEPORT``), among which the kernel
    spreads new connections."""
    where = f"{host}:{port}"
    if not 0 <= port <= 65535:
        raise ServeError(f"cannot listen on {where}: a port is a number from 0 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise ServeError(f"cannot listen on {where}: unknown host ({error.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as error:
        sock.close()
        reason = _REASONS.get(error.errno or 0, (error.strerror or str(error)).lower())
        raise ServeError(f"cannot listen on {where}: {reason}") from None
    return sock


def serve(
    load_app: Callable[[int, bool], Any],
    host: str,
    port: int,
    threads: int = 4,
    limits: Limits | None = None,
    workers: int = 1,
    concurrent: bool = False,
) -> int:
    """Bind, build the app, serve until SIGINT/SIGTERM; the exit code to end with.

    ``load_app(port, announce)`` gets the port really bound, and whether it is the first app of
    this server (the one to print a banner). With ``workers`` > 1 each worker process builds its
    own app on a socket of its own (``workers.supervise``): only for a store the workers share.
    ``concurrent``: the app threads all work at once (a fleet store's requests wait on Redis).
    """
    sockets = [listen(host, port)]
    bound = sockets[0].getsockname()[1]
    if workers > 1:
        sockets = _worker_sockets(host, sockets[0], workers)

    def work(index: int, announce: bool, started: Callable[[], None] = lambda: None) -> None:
        for other in sockets[:index] + sockets[index + 1 :]:
            other.close()  # in this worker only: the supervisor keeps every socket for a replacement
        app = load_app(bound, announce)
        started()  # a worker of ``supervise``: it dies of its start-up no more
        keep_collections_short()
        run(app, sockets[index], threads, limits or Limits(), concurrent)

    try:
        if workers == 1:
            work(0, True)
            return 0
        return supervise(workers, work)
    finally:
        for sock in sockets:
            sock.close()


def _worker_sockets(host: str, probe: socket.socket, count: int) -> list[socket.socket]:
    """A listening socket per worker on the port ``probe`` got, with ``SO_REUSEPORT``: the kernel
    spreads new connections over them by their addresses. Workers accepting from one shared socket
    do not share its connections: measured with 2 workers and wrk's 16 connections, one worker took
    15 or all 16 (the worker that is awake accepts everything pending), so two workers served as
    one. ``probe`` (bound without ``SO_REUSEPORT``, so a port in use has already failed) is closed
    first, or the port would refuse the others."""
    port = probe.getsockname()[1]
    probe.close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(listen(host, port, reuse_port=True))
        # Between closing the probe and binding these, another server may have done the same:
        # then the port's listeners are not all ours, and both servers refuse it.
        if shared_with_others(sockets):
            raise ServeError(f"cannot listen on {host}:{port}: {_REASONS[errno.EADDRINUSE]}")
    except ServeError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def shared_with_others(sockets: list[socket.socket]) -> bool:
    """Whether a socket of another process listens on the same address and port as ``sockets`` (all
    bound alike), by Linux's /proc/net/tcp and tcp6; False where those cannot be read."""
    ours = {os.fstat(sock.fileno()).st_ino for sock in sockets}
    host, port = sockets[0].getsockname()[:2]
    family = sockets[0].family
    table = "/proc/net/tcp6" if family == socket.AF_INET6 else "/proc/net/tcp"
    try:
        with open(table) as rows:
            lines = rows.read().splitlines()[1:]
    except OSError:
        return False
    wanted = socket.inet_pton(family, host)
    for line in lines:
        fields = line.split()
        address, _, hex_port = fields[1].partition(":")
        if fields[3] != "0A" or int(hex_port, 16) != port or int(fields[9]) in ours:  # 0A: LISTEN
            continue
        raw = bytes.fromhex(address)  # 32-bit words in the host's byte order
        if sys.byteorder == "little":
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
        if raw == wanted:
            return True
    return False


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


__all__ = ["Limits", "ServeError", "keep_collections_short", "listen", "serve"]
