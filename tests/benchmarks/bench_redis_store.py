"""The Redis store: the bytes a sandbox takes in Redis and the round trips (and time) of each operation.

Run: ``python tests/benchmarks/bench_redis_store.py [--url redis://…] [--leads 1000] [--rounds 2000]``.
Without ``--url`` it starts its own redis-server (no persistence) on a free loopback port. It builds
the default seeded world (seed 42, 300 leads per location) as every process does, then on fresh
sandbox ids: counts the round trips of get, page, count, insert, update and the handlers' two transaction shapes
with a counting connection (each send is one round trip), times each (median and p99 over
``--rounds``), then writes ``--leads`` leads like POST /api/v1/leads makes into one sandbox, prints
the Redis bytes its keys take (MEMORY USAGE) and what ``used_memory`` grew, and measures its reads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sandbox.base.clock import isoformat  # noqa: E402
from sandbox.base.ids import IdFactory  # noqa: E402
from sandbox.base.overlay import SeededBase  # noqa: E402
from sandbox.base.redis_store import RedisOverlayStore  # noqa: E402
from sandbox.base.store import MemoryStore  # noqa: E402
from sandbox.services.world import build_world  # noqa: E402
from tests.support import RedisServer, RoundTrips, counting_redis  # noqa: E402

ANCHOR = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)


def timed(action: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """Median and p99 of ``action``, in microseconds."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def new_lead(template: dict[str, Any], org_id: str, number: int) -> dict[str, Any]:
    now = isoformat(datetime.now(UTC))
    return {
        **template,
        "id": str(uuid.uuid4()),
        "organization_id": org_id,
        "name": f"Bench Lead {number}",
        "email": f"bench{number}@example.com",
        "created_at": now,
        "updated_at": now,
        "crm_sync": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a Redis to use (default: start one)")
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    server = None if args.url else RedisServer()
    url = args.url or server.url  # type: ignore[union-attr]
    try:
        run(url, args.leads, args.rounds)
    finally:
        if server is not None:
            server.close()


def run(url: str, leads: int, rounds: int) -> None:
    built = MemoryStore()
    info = build_world(built, seed=42, anchor=ANCHOR, ids=IdFactory.seeded(42), leads_per_org=300)
    base = SeededBase(built)
    org = info.child_org_ids[0]
    template = next(built.scan("lead", org))
    client, trips = counting_redis(url)
    store = RedisOverlayStore(client, f"sbx_{uuid.uuid4().hex}", base)
    seeded_id = template["id"]
    audit = {"id": "", "organization_id": org, "created_at": "", "action": "lead.created", "details": {}}
    made = 0

    def create_and_audit() -> None:
        nonlocal made
        made += 1
        lead = new_lead(template, org, made)
        with store.transaction():
            store.insert("lead", lead)
            store.insert("audit_event", {**audit, "id": str(uuid.uuid4()), "created_at": lead["created_at"]})

    def read_change_audit() -> None:
        with store.transaction():
            lead = store.get("lead", org, seeded_id)
            assert lead is not None
            store.update("lead", org, seeded_id, {"lead_score": (lead["lead_score"] + 1) % 100})
            store.insert(
                "audit_event",
                {**audit, "id": str(uuid.uuid4()), "created_at": lead["created_at"], "action": "lead.updated"},
            )

    print(
        f"Redis store on {url}: seed 42, {base.record_count()} seeded records, lead JSON "
        f"{len(orjson.dumps(template))} bytes"
    )
    print(f"untouched sandbox: {store.memory_usage()} bytes in Redis, {len(client.keys(pattern(store)))} keys")
    table(
        [
            ("get (seeded lead, untouched)", lambda: store.get("lead", org, seeded_id)),
            ("page 50 (untouched)", lambda: store.page("lead", org, limit=50)),
            ("count (untouched)", lambda: store.count("lead", org)),
            ("insert (one lead)", lambda: store.insert("lead", new_lead(template, org, 0))),
            ("update (outside a transaction)", lambda: store.update("lead", org, seeded_id, {"pipeline_stage": "new"})),
            ("transaction: create + audit", create_and_audit),
            ("transaction: read + change + audit", read_change_audit),
        ],
        trips,
        rounds,
    )
    store.drop()

    written = RedisOverlayStore(client, f"sbx_{uuid.uuid4().hex}", base)
    used_before = client.info("memory")["used_memory"]
    for number in range(leads):
        written.insert("lead", {**new_lead(template, org, number), "lead_score": number % 100})
    used_after = client.info("memory")["used_memory"]
    usage = written.memory_usage()
    print(
        f"\n{leads:,} leads written into one sandbox: {usage:,} bytes in Redis by MEMORY USAGE "
        f"({usage / leads:,.0f} per lead), used_memory grew {used_after - used_before:,} bytes; "
        f"{len(client.keys(pattern(written)))} keys"
    )
    newest = written.page("lead", org, limit=1)[0][0]["id"]
    table(
        [
            ("get (written lead)", lambda: written.get("lead", org, newest)),
            ("page 50 (touched)", lambda: written.page("lead", org, limit=50)),
            (
                "page 50 (touched, half match a filter)",
                lambda: written.page("lead", org, where=lambda r: r["lead_score"] >= 50, limit=50),
            ),
            (
                f"page 50 (touched, filter matches none of {leads:,})",
                lambda: written.page("lead", org, where=lambda r: r["lead_score"] > 100, limit=50),
            ),
            ("count (touched)", lambda: written.count("lead", org)),
        ],
        trips,
        rounds,
    )
    written.drop()
    print(f"after drop(): {written.memory_usage()} bytes, {len(client.keys(pattern(written)))} keys")


def pattern(store: RedisOverlayStore) -> str:
    return store.keys.prefix.replace("{", "[{]").replace("}", "[}]") + "*"


def table(rows: list[tuple[str, Callable[[], Any]]], trips: RoundTrips, rounds: int) -> None:
    """Round trips (after one call that loads the scripts into Redis) and times of each operation."""
    print(f"{'operation':48} {'round trips':>11} {'median µs':>10} {'p99 µs':>8}")
    for name, action in rows:
        action()
        count = trips.measure(action)
        median, p99 = timed(action, rounds if "none" not in name else max(rounds // 20, 10))
        print(f"{name:48} {count:>11} {median:>10.0f} {p99:>8.0f}")


if __name__ == "__main__":
    main()
