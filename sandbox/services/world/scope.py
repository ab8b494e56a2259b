"""Claim scope extraction: rooms with dimensions and Xactimate-style line items sized to them."""

from __future__ import annotations

import math
import random
import string
from typing import Any

from . import catalogue

LOSS_TYPES = ("water", "fire", "mold")
ROOM_COUNTS = {"water": (1, 4), "fire": (1, 3), "mold": (1, 2)}
_ID_ALPHABET = string.ascii_lowercase + string.digits


def measures(dimensions: dict[str, int]) -> dict[str, float]:
    """The areas and lengths line items are sized from, in SF and LF."""
    length, width, height = dimensions["length_ft"], dimensions["width_ft"], dimensions["height_ft"]
    floor, perimeter = length * width, 2 * (length + width)
    wall = perimeter * height
    return {
        "floor_sf": floor,
        "ceiling_sf": floor,
        "perimeter_lf": perimeter,
        "wall_sf": wall,
        "surface_sf": wall + floor,
        "end_wall_sf": width * height,
    }


def expected_quantity(code: str, dimensions: dict[str, int]) -> tuple[int, int]:
    """The inclusive range of quantities a line item may carry in a room of this size."""
    rule = catalogue.scope()["items"][code]["qty"]
    if "count" in rule:
        return rule["count"][0], rule["count"][1]
    measure = measures(dimensions)[rule["measure"]]
    if "every" in rule:
        value = math.ceil(measure / rule["every"]) * rule["days"]
    else:
        value = max(1, round(measure * rule["factor"]))
    return value, value


def scope_item(rng: random.Random, code: str, dimensions: dict[str, int]) -> dict[str, Any]:
    """One line item: code, description, quantity sized to the room, unit and confidence."""
    entry = catalogue.scope()["items"][code]
    low, high = expected_quantity(code, dimensions)
    return {
        "id": "scope_" + "".join(rng.choices(_ID_ALPHABET, k=6)),
        "code": code,
        "description": entry["description"],
        "qty": rng.randint(low, high),
        "unit": entry["unit"],
        "confidence": round(rng.uniform(0.6, 0.99), 2),
    }


def _codes(rng: random.Random, loss_type: str) -> list[str]:
    plan = catalogue.scope()["losses"][loss_type]
    chosen = list(plan["always"]) + [rng.choice(pair) for pair in plan["either"]]
    return chosen + [code for code in plan["sometimes"] if rng.random() < 0.45]


def room_dimensions(rng: random.Random, room: str) -> dict[str, int]:
    """Whole-foot dimensions typical of a room with this name."""
    table = catalogue.scope()["dimensions"]
    ranges = table.get(room, table["default"])
    return {name: rng.randint(low, high) for name, (low, high) in ranges.items()}


def extract_claim_scope(rng: random.Random, loss_type: str) -> list[dict[str, Any]]:
    """Rooms a photo set would show for this loss, each with dimensions and scope items."""
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"unknown loss type {loss_type!r}")
    names = rng.sample(catalogue.scope()["losses"][loss_type]["rooms"], rng.randint(*ROOM_COUNTS[loss_type]))
    rooms, seen = [], set()
    for name in names:
        dimensions = room_dimensions(rng, name)
        items = []
        for code in _codes(rng, loss_type):
            item = scope_item(rng, code, dimensions)
            while item["id"] in seen:
                item["id"] = "scope_" + "".join(rng.choices(_ID_ALPHABET, k=6))
            seen.add(item["id"])
            items.append(item)
        rooms.append({"name": name, "dimensions": dimensions, "scope_items": items})
    return rooms


def scope_item_count(rooms: list[dict[str, Any]]) -> int:
    return sum(len(room["scope_items"]) for room in rooms)
