"""``--workers N``: N server processes on one port, each accepting on a socket of its own, supervised
by this one.

Pre-fork, as gunicorn and granian's own supervisor do: the sockets are bound before, and each
worker is a ``fork`` that inherits them and keeps its own; they share the port with
``SO_REUSEPORT``, so the kernel spreads connections over the workers with no proxy in between
(``sandbox.server._worker_sockets`` says why not one shared socket). A connection the kernel gives
a worker that is being replaced waits in its socket's backlog, which the supervisor holds open.
Only a fleet store can be served this way (every worker reads and writes the same Redis); an
in-memory world lives in one process. The supervisor starts no thread and builds
no app before forking, so nothing half-initialized is copied into a worker.

A worker that dies (a crash, ``kill -9``, the OOM killer) is replaced; the fleet store keeps what
it had stored, and its delivery work is taken over by the others once its claims lapse. Workers
that die before their app is built (the store gone, a bad setting), several in a row, stop the whole
server instead of being restarted in a loop: a worker tells the supervisor through a pipe once its
app is built, so how long a start-up takes (a loaded machine) does not matter. SIGINT or SIGTERM to
the supervisor stops every worker the way SIGTERM stops a single server (open event streams are
ended first); a supervisor killed outright (``kill -9``) takes its workers with it (they get SIGTERM
from the kernel).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable

START_UP_DEATHS_ALLOWED = 3  # in a row: then the server stops instead of restarting workers in a loop
STOP_SECONDS = 30.0  # how long stopping workers may take before they are killed
PR_SET_PDEATHSIG = 1  # prctl(2)


def supervise(count: int, work: Callable[[int, bool, Callable[[], None]], None]) -> int:
    """Run ``work(index, announce, started)`` in ``count`` forked workers until SIGINT/SIGTERM; the exit
    code to end with. ``index`` is the worker's number (a replacement gets the one it replaces);
    ``announce`` is true for the first worker's first start only (a replacement prints no banner);
    ``work`` calls ``started()`` once its app is built."""
    stopping, supervisor = False, os.getpid()
    workers: dict[int, tuple[int, int]] = {}  # pid -> (index, the read end of its "started" pipe)

    def start(index: int, announce: bool = False) -> None:
        told, tell = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: it never returns into the supervisor's code
            os.close(told)
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            _end_with(supervisor)
            code = 0
            try:
                work(index, announce, lambda: _say_started(tell))
            except BaseException as error:  # noqa: BLE001 - a worker's end is reported, never raised
                if not isinstance(error, (KeyboardInterrupt, SystemExit)):
                    print(f"eal-sandbox serve: worker {index} failed: {error}", file=sys.stderr)
                    code = 1
                elif isinstance(error, SystemExit) and isinstance(error.code, int):
                    code = error.code
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        os.close(tell)
        workers[pid] = (index, told)

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            _signal(pid, signal.SIGTERM)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    start_up_deaths, code = 0, 0
    try:
        for index in range(count):
            start(index, announce=index == 0)
        while workers and not stopping:
            pid, status = _next_ended()
            if pid == 0:
                time.sleep(0.1)  # polled, not blocked in wait(): a signal then always finds the loop
                continue
            if pid not in workers:
                continue
            index, told = workers.pop(pid)
            started = _was_started(told)
            if stopping:
                break
            start_up_deaths = 0 if started else start_up_deaths + 1
            giving_up = start_up_deaths >= START_UP_DEATHS_ALLOWED
            print(
                f"eal-sandbox serve: worker {index} (pid {pid}) {_ending(status, not giving_up)}",
                file=sys.stderr,
                flush=True,
            )
            if giving_up:
                print(
                    f"eal-sandbox serve: {start_up_deaths} workers in a row died on start-up; stopping",
                    file=sys.stderr,
                    flush=True,
                )
                code = 1
                stop(signal.SIGTERM, None)
                break
            start(index)
    finally:
        _reap(workers)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return code


def _say_started(tell: int) -> None:
    """In a worker whose app is built: tell the supervisor (once)."""
    try:
        os.write(tell, b"s")
        os.close(tell)
    except OSError:
        pass


def _was_started(told: int) -> bool:
    """Whether an ended worker had said its app was built (its pipe holds a byte; else it is at its end)."""
    try:
        os.set_blocking(told, False)
        return os.read(told, 1) == b"s"
    except OSError:
        return False
    finally:
        _close(told)


def _close(descriptor: int) -> None:
    try:
        os.close(descriptor)
    except OSError:
        pass


def _end_with(supervisor: int) -> None:
    """Have the kernel send this worker SIGTERM when its supervisor dies, even by ``kill -9`` (Linux's
    ``PR_SET_PDEATHSIG``): no worker outlives the server it belongs to, holding its port."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        except (OSError, AttributeError):
            return
    if os.getppid() != supervisor:  # it died before the request was made
        os._exit(0)


def _next_ended() -> tuple[int, int]:
    """A worker that ended and its wait status, or (0, 0) when none has."""
    try:
        return os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return 0, 0


def _ending(status: int, replaced: bool) -> str:
    how = (
        f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        if os.WIFSIGNALED(status)
        else f"exited with code {os.waitstatus_to_exitcode(status)}"
    )
    return how + ("; starting another" if replaced else "")


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _reap(workers: dict[int, tuple[int, int]]) -> None:
    """Stop the workers still running (SIGTERM), killing those that outlast STOP_SECONDS."""
    for pid in workers:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while workers:
        for pid in list(workers):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                _close(workers.pop(pid)[1])
            elif time.monotonic() > deadline:
                _signal(pid, signal.SIGKILL)
        time.sleep(0.02)
