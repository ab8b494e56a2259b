"""Minting sandboxes: creation time (p50/p99) and the memory 1,000 live, untouched sandboxes add.

Run: ``python tests/benchmarks/bench_sandboxes.py [--count 1000] [--leads-per-org 300]``. Builds a
sandbox directory in-process (as ``eal-sandbox serve`` does), mints ``--count`` sandboxes of the
default seed through it, then writes leads into one of them and deletes them all, printing the
resident set size (RSS, from /proc) at each stage. Targets (issue 12): creation ≤ 5 ms p99,
1,000 untouched sandboxes ≤ 100 MB, memory returned when they go.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sandbox.base.settings import Settings  # noqa: E402
from sandbox.composition import SandboxDirectory  # noqa: E402


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--leads-per-org", type=int, default=300)
    args = parser.parse_args()
    directory = SandboxDirectory(Settings(LEADS_PER_ORG=args.leads_per_org))
    gc.collect()
    base_rss = rss_mb()
    timings, made = [], []
    for _ in range(args.count):
        started = time.perf_counter()
        made.append(directory.create())
        timings.append((time.perf_counter() - started) * 1000)
    gc.collect()
    full_rss = rss_mb()
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(
        f"create: p50 {statistics.median(timings):.2f} ms, p99 {p99:.2f} ms, max {timings[-1]:.2f} ms "
        f"({args.count} sandboxes of seed 42, {args.leads_per_org} leads per location)"
    )
    print(
        f"RSS: {base_rss:.1f} MB with the start-up sandbox, {full_rss:.1f} MB with {args.count} more: "
        f"+{full_rss - base_rss:.1f} MB ({(full_rss - base_rss) * 1024 / args.count:.1f} KB each)"
    )
    busy = made[0]
    org_id = busy.world.child_org_ids[0]
    before = rss_mb()
    for number in range(1000):
        busy.store.insert(
            "lead",
            {
                "id": f"bench-{number:05d}",
                "organization_id": org_id,
                "created_at": f"2026-12-01T00:00:{number % 60:02d}.{number:03d}Z",
                "name": f"Lead {number}",
                "email": f"lead{number}@example.com",
            },
        )
    print(
        f"1,000 leads written into one sandbox: +{rss_mb() - before:.2f} MB (its overlay: "
        f"{busy.store.changed} records; the {busy.store.base.record_count():,} seeded ones are shared)"
    )
    for sandbox in made:
        directory.delete(sandbox)
    del made, busy
    gc.collect()
    print(
        f"after deleting them: RSS {rss_mb():.1f} MB ({len(directory)} sandbox left, "
        f"{len(directory.worlds)} seeded world kept; the allocator keeps freed pages for reuse)"
    )
    returned(directory, 200)
    directory.close()


def returned(directory: SandboxDirectory, count: int) -> None:
    """What Python holds for ``count`` sandboxes, and what is left once they are deleted (tracemalloc)."""
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    made = [directory.create() for _ in range(count)]
    held = tracemalloc.get_traced_memory()[0]
    for sandbox in made:
        directory.delete(sandbox)
    del made
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        f"traced Python memory: +{(held - before) / 2**20:.1f} MB for {count} sandboxes, "
        f"+{(after - before) / 2**20:.2f} MB once they are deleted"
    )


if __name__ == "__main__":
    main()
