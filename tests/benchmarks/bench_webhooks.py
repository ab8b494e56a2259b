"""Throughput of webhook delivery: events fanned out to a loopback receiver per second.

Run: ``python tests/benchmarks/bench_webhooks.py [--events 2000] [--workers 8]``. Emits the
events as fast as it can, waits for every delivery to be acknowledged, and prints the time
``emit`` took on the caller's thread and the events delivered per second end to end.

The receiver (the tests' ``ThreadingHTTPServer``) runs in its own process so it does not
compete with the sandbox for the GIL; ``--same-process`` puts it back, as in the tests.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sandbox.base.clock import Clock, Tasks  # noqa: E402
from sandbox.base.ids import IdFactory  # noqa: E402
from sandbox.base.memory_state import MemoryState  # noqa: E402
from sandbox.base.store import MemoryStore  # noqa: E402
from sandbox.services.webhooks import RetrySchedule, WebhookService  # noqa: E402
from tests.webhooks.receiver import ORG, Receiver  # noqa: E402


class LocalReceiver(Receiver):
    """A ``Receiver`` in this process."""

    def delivered_count(self) -> int:
        count = len({r.event_id for r in self.delivered()})
        self.close()
        return count


def serve(pipe: Any) -> None:
    """Run a receiver until asked, then report the distinct event ids it acknowledged."""
    receiver = Receiver()
    pipe.send(receiver.url)
    pipe.recv()
    pipe.send(len({r.event_id for r in receiver.delivered()}))
    receiver.close()


class RemoteReceiver:
    """A ``Receiver`` in a child process."""

    def __init__(self) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=serve, args=(child,), daemon=True)
        self._process.start()
        self.url: str = self._pipe.recv()

    def delivered_count(self) -> int:
        self._pipe.send("report")
        count: int = self._pipe.recv()
        self._process.join(5)
        return count


def run(events: int, workers: int, same_process: bool) -> None:
    """Deliver ``events`` events to one loopback subscription and print the rates."""
    receiver = LocalReceiver() if same_process else RemoteReceiver()
    tasks = Tasks()
    clock = Clock.make(dispatch=tasks.run)
    service = WebhookService(
        MemoryStore(),
        clock,
        IdFactory(random.Random(1)),
        MemoryState(),
        tasks,
        schedule=RetrySchedule(),
        timeout=5.0,
        workers=workers,
    )
    service.create_subscription(ORG, receiver.url, ["lead.created"], "benchmark")
    started = time.perf_counter()
    for n in range(events):
        service.emit(ORG, "lead.created", {"lead_id": f"lead-{n}", "name": "Ana Müller", "score": n % 100})
    emitted = time.perf_counter() - started
    drained = service.settle(None, 120)
    elapsed = time.perf_counter() - started
    delivered = receiver.delivered_count()
    service.close()
    clock.stop()
    where = "same process" if same_process else "child process"
    print(f"events={events} workers={workers} receiver={where} drained={drained} delivered={delivered}")
    print(f"emit: {emitted / events * 1e6:.1f} us per event on the caller's thread")
    print(f"delivery: {delivered / elapsed:,.0f} events delivered per second ({elapsed:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--same-process", action="store_true", help="run the receiver in this process")
    args = parser.parse_args()
    run(args.events, args.workers, args.same_process)


if __name__ == "__main__":
    main()
