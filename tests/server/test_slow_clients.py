"""Slow and idle clients cannot stop the sandbox: 200 idle sockets, 50 trickling a request head and
20 trickling a body for 30 s, while a normal client's calls keep being answered.

Liveness is asserted (every call answered 200 within its 1 s deadline, none refused); latency is
only reported (printed, and written to ``tests/artifacts/slow-clients.json``):
``tests/benchmarks/bench_slow_clients.py`` runs the same scenario and checks its p99 target.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server import slow_clients
from tests.support import real_server

SUMMARY = Path(__file__).parent.parent / "artifacts" / "slow-clients.json"


def test_slow_and_idle_clients_do_not_stop_normal_calls(record_property: pytest.RecordProperty) -> None:
    with real_server("--leads-per-org", "20") as server:
        report = slow_clients.run(server.port, server.keys["read,write"], seconds=30)
        assert server.process.poll() is None, "the server died under slow clients"
    summary = report.summary()
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text(json.dumps(summary, indent=2))
    record_property("slow_clients", summary)
    print(f"slow clients: {summary}")

    assert report.probe_failures == [], report.probe_failures[:10]
    assert len(report.probe_seconds) >= 100, summary  # the normal client really ran all along
    assert not report.connect_failures, summary
    # The limits acted: idle sockets and trickled heads were cut at the head deadline, and every
    # trickled body was answered with the envelope at the body deadline.
    assert report.closed_by_server["idle"] >= 200 and report.closed_by_server["header"] >= 50, summary
    assert set(report.body_answers) == {"408 request_timeout"} and report.body_answers.total() >= 20, summary
