"""The app threads: one does the work; helpers step in only while it is held up."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from sandbox.server.app_threads import AppThreads


def run_jobs(size: int, work: Callable[[object], None]) -> AppThreads:
    threads = AppThreads(size, work, name="t")
    threads.start()
    return threads


def test_quick_jobs_all_run_on_the_first_thread() -> None:
    seen: Counter[str] = Counter()
    done = threading.Event()

    def work(job: object) -> None:
        seen[threading.current_thread().name] += 1
        if sum(seen.values()) == 500:
            done.set()

    threads = run_jobs(4, work)
    for n in range(500):
        threads.submit(n)
    assert done.wait(10)
    threads.stop()
    # A helper is called in only when no job has started for 10 ms; on a loaded machine that can
    # happen now and then, but the first thread must have done nearly everything.
    assert seen["t-1"] >= 450, seen


def test_jobs_behind_a_held_up_one_still_run_up_to_the_pool_size() -> None:
    release = threading.Event()
    started: list[int] = []
    all_held = threading.Event()
    last_ran = threading.Event()

    def work(job: object) -> None:
        if job == "last":
            last_ran.set()
            return
        started.append(int(job))  # type: ignore[call-overload]
        if len(started) == 3:
            all_held.set()
        release.wait(10)

    threads = run_jobs(4, work)
    for n in range(3):
        threads.submit(n)
    assert all_held.wait(10), started  # three jobs held up at once: the first thread and two helpers
    threads.submit("last")
    assert last_ran.wait(10)  # the fourth thread is called in for the next one
    release.set()
    threads.stop()


def test_a_pool_of_one_is_one_thread_and_no_watchdog() -> None:
    names: list[str] = []
    done = threading.Event()

    def work(job: object) -> None:
        names.append(threading.current_thread().name)
        done.set()

    threads = run_jobs(1, work)
    threads.submit("only")
    assert done.wait(10)
    threads.stop()
    assert names == ["t-1"] and not any(t.name == "t-watchdog" for t in threading.enumerate())
