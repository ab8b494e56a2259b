"""The YAML catalogues hold together: every referenced code, slot and intent exists."""

from __future__ import annotations

import re

from sandbox.services.world import catalogue
from sandbox.services.world.scripts import DEFAULT_SLOTS, INTENTS

KNOWN_SLOTS = {*DEFAULT_SLOTS, "room", "minutes"}
MEASURES = {"floor_sf", "ceiling_sf", "perimeter_lf", "wall_sf", "surface_sf", "end_wall_sf"}


def test_every_loss_plan_names_catalogued_items_and_rooms() -> None:
    scope = catalogue.scope()
    for plan in scope["losses"].values():
        codes = [*plan["always"], *plan["sometimes"], *(code for pair in plan["either"] for code in pair)]
        assert set(codes) <= set(scope["items"])
    for item in scope["items"].values():
        rule = item["qty"]
        assert "count" in rule or rule["measure"] in MEASURES


def test_transcript_templates_use_known_slots_only() -> None:
    table = catalogue.transcripts()
    assert set(INTENTS) <= set(table)
    templates = [t for intent in INTENTS for t in table[intent]]
    templates += [t for group in table["voicemail"].values() for t in group]
    for template in templates:
        assert set(re.findall(r"\{(\w+)\}", template)) <= KNOWN_SLOTS
        assert all(line.startswith(("Caller: ", "Agent: ")) for line in template.splitlines())


def test_areas_are_in_georgia_with_five_digit_postal_codes() -> None:
    for area in catalogue.areas():
        assert area["places"]
        for codes in area["cities"].values():
            assert all(re.fullmatch(r"3\d{4}", code) for code in codes)
