"""Content, sequences and suppressions."""

from __future__ import annotations

import re

from tests.world.seeded import Seeded

CHANNELS = {"wordpress", "instagram", "facebook", "gbp", "linkedin", "google"}


def test_content_status_decides_url_and_dates(seeded: Seeded) -> None:
    for item in seeded.records("content"):
        assert item["type"] in ("blog", "video", "social", "review_response")
        assert item["channel"] in CHANNELS and item["word_count"] > 0 and item["title"]
        published, scheduled = item["status"] == "published", item["status"] == "scheduled"
        assert (item["url"] is not None) == published == (item["published_at"] is not None)
        assert (item["scheduled_for"] is not None) == scheduled


def test_video_and_review_items_carry_their_extras(seeded: Seeded) -> None:
    items = seeded.records("content")
    for item in items:
        if item["type"] == "video":
            assert item["cutdown_30s_id"] == item["id"] + "_30s"
            assert [scene["scene"] for scene in item["scenes"]] == list(range(1, len(item["scenes"]) + 1))
        if item["type"] == "review_response":
            assert re.fullmatch(r"g_review_[a-z0-9]{8}", item["review_id"])
            assert item["sentiment"] == (
                "positive" if item["rating"] >= 4 else "neutral" if item["rating"] == 3 else "negative"
            )
            if item["sentiment"] == "negative":
                assert item["status"] == "draft"
    assert {item["type"] for item in items} == {"blog", "video", "social", "review_response"}


def test_sequence_funnels_are_plausible(seeded: Seeded) -> None:
    for sequence in seeded.records("sequence"):
        stats = sequence["stats"]
        assert stats["sent"] < stats["enrolled"] * sequence["steps"]
        assert stats["replied"] <= stats["opened"] <= stats["sent"]
        assert stats["opted_out"] <= stats["enrolled"]
        assert re.search(r" · Q[1-4] 20\d\d$", sequence["name"])


def test_suppressions_are_unique_and_well_formed(seeded: Seeded) -> None:
    for org_id in seeded.info.child_org_ids:
        suppressions = seeded.records("suppression", org_id)
        assert len({(s["channel"], s["address"]) for s in suppressions}) == len(suppressions)
        for suppression in suppressions:
            assert suppression["added_at"] == suppression["created_at"]
            if suppression["channel"] == "sms":
                assert re.fullmatch(r"\+1\d{10}", suppression["address"])
            else:
                assert "@" in suppression["address"]
