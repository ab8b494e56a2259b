"""Prospect fit: a 0–100 score and rationale lines read off the prospect's own data.

One rule set (``data/prospect_fit.yaml``) for both the seeded world's qualification statuses and
POST /prospects/qualify, so re-qualifying a seeded prospect confirms its seeded status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RULES: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "data" / "prospect_fit.yaml").read_text())
WEIGHTS: dict[str, int] = RULES["weights"]
LINES: dict[str, str] = RULES["rationale"]


def _portfolio(prospect: dict[str, Any]) -> tuple[str, int]:
    """The vertical's portfolio sentence and the points its size and kind earn."""
    vertical = RULES["verticals"].get(prospect.get("vertical"), RULES["default_vertical"])
    buildings, units = prospect.get("buildings_managed") or 0, prospect.get("units") or 0
    size = buildings * WEIGHTS["per_building"] + units // 100 * WEIGHTS["per_hundred_units"]
    sentence = vertical["portfolio"].format(buildings=buildings, units=units)
    return sentence, vertical["fit"] + min(size, WEIGHTS["max_portfolio"])


def _water_loss_line(incident: Any) -> str:
    """Name the incident month when the record carries a date."""
    if isinstance(incident, dict):
        incident = incident.get("reported_at") or incident.get("date") or True
    if isinstance(incident, str) and len(incident) >= 7 and incident[:4].isdigit():
        return LINES["water_loss_dated"].format(month=incident[:7])
    return LINES["water_loss"]


def assess(prospect: dict[str, Any]) -> tuple[bool, int, list[str]]:
    """Verdict, fit score and the rationale that explains them, strongest signal first."""
    portfolio, points = _portfolio(prospect)
    in_radius = bool(prospect.get("in_service_radius"))
    if in_radius:
        rationale = [LINES["inside_radius"].format(portfolio=portfolio)]
        points += WEIGHTS["in_radius"]
    else:
        rationale = [LINES["outside_radius"], portfolio]
        points += WEIGHTS["outside_radius"]
    vendor = prospect.get("incumbent_vendor")
    if vendor:
        rationale.append(LINES["incumbent"].format(vendor=vendor))
        points += WEIGHTS["incumbent"]
    else:
        rationale.append(LINES["no_incumbent"])
        points += WEIGHTS["no_incumbent"]
    incident = prospect.get("recent_water_loss")
    rationale.append(_water_loss_line(incident) if incident else LINES["no_water_loss"])
    points += WEIGHTS["water_loss"] if incident else 0
    score = max(0, min(100, RULES["base_score"] + points))
    qualified = in_radius and score >= RULES["threshold"]
    if in_radius and not qualified:
        rationale.append(LINES["below_threshold"].format(score=score, threshold=RULES["threshold"]))
    return qualified, score, rationale
