"""What recording one request in the journal costs (it happens on every request).

Run: ``python tests/benchmarks/bench_journal.py [--entries 50000]``. Prints microseconds per record,
best of five rounds (the suite only checks what the journal keeps, never how fast).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sandbox.base.memory_state import MemoryState  # noqa: E402
from sandbox.services.journal import Journal  # noqa: E402

START = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    entries = [
        {
            "request_id": f"req_{n}",
            "organization_id": "org_a",
            "method": "GET",
            "path": "/api/v1/leads",
            "operation_id": "list_leads",
            "status": 200,
            "correlation_id": None,
            "at": START + timedelta(seconds=n),
        }
        for n in range(parser.parse_args().entries)
    ]
    rounds = []
    for _ in range(5):
        journal = Journal(MemoryState())
        started = time.perf_counter()
        for entry in entries:
            journal.record(entry)
        rounds.append((time.perf_counter() - started) / len(entries))
    print(
        f"journal.record: {min(rounds) * 1e6:.2f} µs per request (best of 5; median "
        f"{sorted(rounds)[2] * 1e6:.2f} µs) over {len(entries):,} entries"
    )


if __name__ == "__main__":
    main()
