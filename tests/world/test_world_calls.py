"""Calls: transcripts read like their classification; only real damage is qualified."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from sandbox.base.clock import parse_iso
from sandbox.services.world import transcript_for, transcript_intent
from sandbox.services.world.scripts import CLASSIFICATION_OF, CLASSIFICATIONS, DAMAGE_KINDS, INTENTS
from tests.world.seeded import ANCHOR, Seeded


def test_every_transcript_matches_its_intent_template(seeded: Seeded) -> None:
    for call in seeded.records("call"):
        assert CLASSIFICATION_OF[call["intent"]] == call["classification"]
        if call["status"] == "missed":
            assert call["transcript"] is None and call["classification"] == "junk"
        else:
            assert transcript_intent(call["transcript"]) == call["intent"], call["id"]


def test_only_damage_calls_are_qualified(seeded: Seeded) -> None:
    calls = seeded.records("call")
    assert any(call["qualified"] for call in calls)
    for call in calls:
        if call["classification"] not in DAMAGE_KINDS:
            assert not call["qualified"] and call["dispatch_decision"]["action"] == "no_action"
            assert call["urgency"] == "low"


def test_dispatch_follows_the_verdict(seeded: Seeded) -> None:
    for call in seeded.records("call"):
        decision = call["dispatch_decision"]
        if decision["action"] == "auto_dispatch":
            assert call["qualified"] and decision["job_created_in_jobnimbus"].startswith("jn_")
            assert decision["reason"].startswith("in_service_radius + qualified + ")
        else:
            assert decision["job_created_in_jobnimbus"] is None
        if call["classification"] in DAMAGE_KINDS and not call["qualified"]:
            assert decision["action"] == "owner_review"


def test_fields_stay_in_range(seeded: Seeded) -> None:
    for call in seeded.records("call"):
        assert 0.55 <= call["confidence"] <= 0.99
        assert 4 <= call["classification_seconds"] <= 30
        assert call["status"] in ("completed", "missed", "voicemail")
        assert call["received_at"] == call["created_at"]
        assert call["caller_number"].startswith("+1") and len(call["caller_number"]) == 12


def test_last_week_is_busy_enough_for_stats(seeded: Seeded) -> None:
    for org_id in seeded.info.child_org_ids:
        recent = [c for c in seeded.records("call", org_id) if (ANCHOR - parse_iso(c["received_at"])).days < 7]
        assert 40 <= len(recent) <= 80
        assert len(Counter(call["intent"] for call in recent)) >= 5


@pytest.mark.parametrize("intent", INTENTS)
def test_transcript_for_reads_back_as_its_intent(intent: str) -> None:
    rng = random.Random(intent)
    for _ in range(20):
        assert transcript_intent(transcript_for(rng, intent, slots={"caller": "Dana"})) == intent


@pytest.mark.parametrize("classification", CLASSIFICATIONS)
def test_transcript_for_is_deterministic(classification: str) -> None:
    first = transcript_for(random.Random(3), classification)
    assert first == transcript_for(random.Random(3), classification)
    assert CLASSIFICATION_OF[transcript_intent(first) or ""] == classification


def test_free_text_has_no_template_intent() -> None:
    assert transcript_intent("Caller: hello?") is None
