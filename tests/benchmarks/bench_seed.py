"""Time and memory of seeding the world: the default size and 10,000 leads per location.

Run: ``python tests/benchmarks/bench_seed.py [--seed 42]``. Prints wall time, the peak of
Python allocations during the build (tracemalloc, run separately because it slows the build)
and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sandbox.base.ids import IdFactory  # noqa: E402
from sandbox.base.store import MemoryStore  # noqa: E402
from sandbox.services.world import RECORD_KINDS as KINDS  # noqa: E402
from sandbox.services.world import build_world  # noqa: E402

ANCHOR = datetime(2026, 4, 27, 19, 0, tzinfo=UTC)


def build(seed: int, leads_per_org: int) -> MemoryStore:
    """Seed one world into a fresh store."""
    store = MemoryStore()
    build_world(store, seed=seed, anchor=ANCHOR, ids=IdFactory(random.Random(seed)), leads_per_org=leads_per_org)
    return store


def measure(seed: int, leads_per_org: int) -> None:
    """Print build time, traced peak and peak RSS for one world size."""
    build(seed, leads_per_org)  # warm: imports, YAML catalogue, Faker locale data
    started = time.perf_counter()
    store = build(seed, leads_per_org)
    elapsed = time.perf_counter() - started
    records = sum(store.count(kind) for kind in KINDS)
    del store
    tracemalloc.start()
    traced = build(seed, leads_per_org)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"leads_per_org={leads_per_org:>6}: {records:>6} records in {elapsed:6.2f} s, "
        f"traced peak {peak / 2**20:7.1f} MiB, process peak RSS {rss_mb:7.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    for leads_per_org in (300, 10_000):
        measure(args.seed, leads_per_org)


if __name__ == "__main__":
    main()
