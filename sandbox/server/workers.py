"""``--workers N``: N server processes accepting on one listening socket, supervised by this one.

Pre-fork, as gunicorn and granian's own supervisor do: the socket is bound once, here, and each
worker is a ``fork`` that inherits it, so the kernel spreads connections over the workers with no
proxy in between. Only a fleet store can be served this way (every worker reads and writes the
same Redis); an in-memory world lives in one process. The supervisor starts no thread and builds
no app before forking, so nothing half-initialized is copied into a worker.

A worker that dies (a crash, ``kill -9``, the OOM killer) is replaced; the fleet store keeps what
it had stored, and its delivery work is taken over by the others once its claims lapse. A worker
that dies again and again just after it started (the store gone, a bad setting) stops the whole
server instead of being restarted in a loop. SIGINT or SIGTERM to the supervisor stops every
worker the way SIGTERM stops a single server (open event streams are ended first); a supervisor
killed outright (``kill -9``) takes its workers with it (they get SIGTERM from the kernel).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable

QUICK_DEATH_SECONDS = 5.0  # a worker that dies sooner than this after starting died of its start-up
QUICK_DEATHS_ALLOWED = 3  # in a row: then the server stops instead of restarting workers in a loop
STOP_SECONDS = 30.0  # how long stopping workers may take before they are killed
PR_SET_PDEATHSIG = 1  # prctl(2)


def supervise(count: int, work: Callable[[bool], None]) -> int:
    """Run ``work(announce)`` in ``count`` forked workers until SIGINT/SIGTERM; the exit code to end with.
    ``announce`` is true for the first worker's first start only (a replacement prints no banner)."""
    stopping, supervisor = False, os.getpid()
    workers: dict[int, tuple[int, float]] = {}  # pid -> (index, started at)

    def start(index: int, announce: bool = False) -> None:
        pid = os.fork()
        if pid == 0:  # the worker: it never returns into the supervisor's code
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            _end_with(supervisor)
            code = 0
            try:
                work(announce)
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
        workers[pid] = (index, time.monotonic())

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            _signal(pid, signal.SIGTERM)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    quick_deaths, code = 0, 0
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
            index, started = workers.pop(pid)
            if stopping:
                break
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < QUICK_DEATH_SECONDS else 0
            giving_up = quick_deaths >= QUICK_DEATHS_ALLOWED
            print(
                f"eal-sandbox serve: worker {index} (pid {pid}) {_ending(status, not giving_up)}",
                file=sys.stderr,
                flush=True,
            )
            if giving_up:
                print(
                    f"eal-sandbox serve: {quick_deaths} workers in a row died on start-up; stopping",
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


def _reap(workers: dict[int, tuple[int, float]]) -> None:
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
                workers.pop(pid)
            elif time.monotonic() > deadline:
                _signal(pid, signal.SIGKILL)
        time.sleep(0.02)
