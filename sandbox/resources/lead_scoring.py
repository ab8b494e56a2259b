"""Deterministic lead scoring: weighted signals read off the lead itself."""

from __future__ import annotations

from typing import Any

TIMELINE_WEIGHTS = {"emergency": 0.30, "this_week": 0.20, "this_month": 0.10, "this_quarter": 0.04}
SOURCE_WEIGHTS = {"lsa": 0.12, "google_ads": 0.10, "referral": 0.12, "phone": 0.10, "callrail": 0.10, "website": 0.06}
DAMAGE_WORDS = {
    "water": "water damage",
    "flood": "water damage",
    "pipe": "water damage",
    "leak": "water damage",
    "fire": "fire damage",
    "smoke": "fire damage",
    "mold": "mold growth",
    "sewage": "biohazard",
    "storm": "recent storm event",
}


def signals(lead: dict[str, Any]) -> list[tuple[str, float]]:
    """The named signals behind a score, strongest first."""
    found: list[tuple[str, float]] = []
    if lead.get("timeline") in TIMELINE_WEIGHTS:
        found.append((f"{lead['timeline'].replace('_', ' ')} timeline", TIMELINE_WEIGHTS[lead["timeline"]]))
    # Only the lead's own inputs: reading ai_reasoning (which scoring writes) would feed back.
    text = str(lead.get("pain_points") or "").lower()
    for label in dict.fromkeys(label for word, label in DAMAGE_WORDS.items() if word in text):
        found.append((f"{label} signal", 0.18))
    if lead.get("phone"):
        found.append(("phone validated", 0.10))
    if lead.get("email"):
        found.append(("email on file", 0.04))
    if lead.get("source") in SOURCE_WEIGHTS:
        found.append((f"high-intent source {lead['source']}", SOURCE_WEIGHTS[lead["source"]]))
    if lead.get("company"):
        found.append(("commercial account", 0.08))
    return sorted(found, key=lambda signal: -signal[1])


def score(lead: dict[str, Any]) -> tuple[int, str]:
    """A 0–100 score and the reasoning text that names its signals."""
    found = signals(lead)
    value = min(100, round(20 + 100 * sum(weight for _, weight in found)))
    if not found:
        return 20, "No qualifying signals yet: no timeline, damage description or contact channel"
    return value, "; ".join(f"{name.capitalize()} (+{weight:.2f})" for name, weight in found)
