"""Claims: scope quantities agree with the room dimensions they were measured from."""

from __future__ import annotations

import random
import re

import pytest

from sandbox.services.world import expected_quantity, extract_claim_scope, measures
from sandbox.services.world.catalogue import scope
from tests.world.seeded import Seeded

CODE = re.compile(r"[A-Z]{2,4} [A-Z0-9/]+")


def check_rooms(rooms: list[dict]) -> None:
    """Every item's code is catalogued and its qty fits its room."""
    for room in rooms:
        for item in room["scope_items"]:
            assert CODE.fullmatch(item["code"]) and item["code"] in scope()["items"]
            low, high = expected_quantity(item["code"], room["dimensions"])
            assert low <= item["qty"] <= high, (item, room["dimensions"])
            assert item["unit"] in ("SF", "LF", "EA", "SY", "HR", "DA")
            assert 0.6 <= item["confidence"] <= 0.99
            assert re.fullmatch(r"scope_[a-z0-9]{6}", item["id"])


def test_seeded_claims_are_consistent(seeded: Seeded) -> None:
    for claim in seeded.records("claim"):
        check_rooms(claim["rooms"])
        assert claim["scope_item_count"] == sum(len(room["scope_items"]) for room in claim["rooms"])
        assert claim["status"] in ("ready_for_review", "reviewed")
        assert claim["created_at"] < claim["ready_at"] <= claim["estimated_ready_at"]
        assert re.fullmatch(r"jn_\d{6}", claim["job_external_ref"])
        assert re.fullmatch(r"cc_proj_\d{4}", claim["source"]["project_id"])
        assert (claim["reviewed_at"] is not None) == (claim["status"] == "reviewed")


def test_claims_reuse_jobs_the_dispatcher_opened(seeded: Seeded) -> None:
    jobs = {c["dispatch_decision"]["job_created_in_jobnimbus"] for c in seeded.records("call")}
    claims = seeded.records("claim")
    assert sum(claim["job_external_ref"] in jobs for claim in claims) > len(claims) / 2


def test_wall_area_is_perimeter_times_height() -> None:
    found = measures({"length_ft": 24, "width_ft": 18, "height_ft": 8})
    assert found["wall_sf"] == 2 * (24 + 18) * 8 and found["floor_sf"] == 432
    assert expected_quantity("PNT P2", {"length_ft": 24, "width_ft": 18, "height_ft": 8}) == (672, 672)
    assert expected_quantity("WTR DRY3", {"length_ft": 24, "width_ft": 18, "height_ft": 8}) == (336, 336)


@pytest.mark.parametrize("loss_type", ["water", "fire", "mold"])
def test_extract_claim_scope_is_pure_and_sized(loss_type: str) -> None:
    rooms = extract_claim_scope(random.Random(11), loss_type)
    assert rooms == extract_claim_scope(random.Random(11), loss_type)
    check_rooms(rooms)
    codes = {item["code"] for room in rooms for item in room["scope_items"]}
    assert set(scope()["losses"][loss_type]["always"]) <= codes


def test_unknown_loss_type_is_refused() -> None:
    with pytest.raises(ValueError):
        extract_claim_scope(random.Random(1), "earthquake")
