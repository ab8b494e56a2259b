"""The seeded, deterministic world of the sandbox: one franchise network and its locations.

``build_world`` fills a store from a seed and an anchor instant. Everything derives from the
seed (a ``random.Random``, a seeded ``Faker`` for name pools, the caller's ``IdFactory``), so
the same seed and anchor give byte-identical records. Event timestamps are at or before the
anchor; only what is future by nature (grant ``expires_at``, content ``scheduled_for``) is after.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faker import Faker

from ...base.ids import IdFactory
from ...base.store import Store
from .calls import build_calls
from .claims import build_claims
from .content import build_content, review_response_text, sentiment_of
from .history import build_history, build_network_history
from .leads import build_leads, lead_score
from .outreach import build_sequences, build_suppressions
from .pools import Pools
from .prospects import build_prospects
from .providers import RestorationProvider
from .scope import expected_quantity, extract_claim_scope, measures
from .scripts import intent_for, transcript_for, transcript_intent
from .seeding import Location, Seeding
from .tenants import build_grant, build_locations

__all__ = [
    "RECORD_KINDS",
    "RestorationProvider",
    "WorldInfo",
    "build_world",
    "expected_quantity",
    "extract_claim_scope",
    "intent_for",
    "lead_score",
    "measures",
    "seeded_faker",
    "review_response_text",
    "sentiment_of",
    "transcript_for",
    "transcript_intent",
]
PARENT_LEADS = 5
# Every kind of record the world seeds, in the order build_world stores them.
RECORD_KINDS = (
    "organization",
    "api_key",
    "lead",
    "grant",
    "prospect",
    "content",
    "sequence",
    "suppression",
    "call",
    "claim",
    "audit_event",
)


@dataclass
class WorldInfo:
    seed: int
    parent_org_id: str
    child_org_ids: list[str]
    keys: list[dict[str, Any]]  # the api_key records, parent first, read → write → admin


@functools.cache
def pools_for(seed: int) -> Pools:
    """The name pools of a seed, drawn once per process (they are immutable)."""
    return Pools.draw(seeded_faker(seed))


def seeded_faker(seed: int) -> Faker:
    """An en_US Faker seeded for this world, with the restoration provider added."""
    faker = Faker("en_US")
    faker.seed_instance(seed)
    faker.add_provider(RestorationProvider)
    return faker


def _location_records(seeding: Seeding, child: Location, leads_per_org: int) -> dict[str, list[dict[str, Any]]]:
    records: dict[str, list[dict[str, Any]]] = {"grant": [build_grant(seeding, child)]}
    records["lead"] = build_leads(seeding, child, leads_per_org)
    records["prospect"] = build_prospects(seeding, child)
    records["content"] = build_content(seeding, child)
    records["sequence"] = build_sequences(seeding, child)
    records["suppression"] = build_suppressions(seeding, child, records["lead"])
    records["call"] = build_calls(seeding, child)
    records["claim"] = build_claims(seeding, child, records["call"])
    records["audit_event"] = build_history(seeding, child, records)
    return records


def build_world(store: Store, *, seed: int, anchor: datetime, ids: IdFactory, leads_per_org: int = 300) -> WorldInfo:
    """Populate `store` with the whole seeded world; every timestamp is at or before `anchor`."""
    seeding = Seeding(random.Random(seed), ids, pools_for(seed), anchor)
    parent, children = build_locations(seeding)
    locations = [parent, *children]
    batches: list[tuple[str, list[dict[str, Any]]]] = [
        ("organization", [location.organization for location in locations]),
        ("api_key", [key for location in locations for key in location.keys]),
        ("lead", build_leads(seeding, parent, PARENT_LEADS)),
    ]
    for child in children:
        batches.extend(_location_records(seeding, child, leads_per_org).items())
    batches.append(("audit_event", build_network_history(seeding, parent, children)))
    with store.transaction():
        for kind, records in batches:
            for record in sorted(records, key=lambda record: (record["created_at"], record["id"])):
                store.insert(kind, record)
    return WorldInfo(
        seed=seed,
        parent_org_id=parent.id,
        child_org_ids=[child.id for child in children],
        keys=[dict(key) for location in locations for key in location.keys],
    )
