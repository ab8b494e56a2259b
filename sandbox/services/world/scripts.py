"""Call transcripts: templates per intent with slots filled, and reading the intent back."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from functools import cache

from . import catalogue

DAMAGE_KINDS = ("water", "fire", "mold", "biohazard")
CLASSIFICATIONS = (*DAMAGE_KINDS, "sales", "junk")
INTENTS = (*DAMAGE_KINDS, "sales_pitch", "wrong_number", "other")
CLASSIFICATION_OF = {
    **{kind: kind for kind in DAMAGE_KINDS},
    "sales_pitch": "sales",
    "wrong_number": "junk",
    "other": "junk",
}
ROOMS = (
    "basement",
    "kitchen",
    "laundry room",
    "guest bathroom",
    "hallway",
    "living room",
    "master bedroom",
    "finished basement",
)
_SLOT = re.compile(r"\{(\w+)\}")
DEFAULT_SLOTS = {
    "location": "PuroClean of North Metro Atlanta",
    "agent": "Riley",
    "caller": "Sarah",
    "street": "4821 Roswell Road",
    "city": "Alpharetta",
    "vendor": "RankRocket SEO",
}


def intent_for(rng: random.Random, classification: str) -> str:
    """The finer intent behind a classification: ``sales`` → ``sales_pitch``; junk splits in two."""
    if classification == "sales":
        return "sales_pitch"
    if classification == "junk":
        return "wrong_number" if rng.random() < 0.55 else "other"
    if classification not in DAMAGE_KINDS:
        raise ValueError(f"unknown call classification {classification!r}")
    return classification


def templates(intent: str, *, voicemail: bool = False) -> list[str]:
    """The transcript templates for an intent (voicemails exist for damage kinds and sales)."""
    table = catalogue.transcripts()
    return list(table["voicemail"][intent] if voicemail else table[intent])


def transcript_for(
    rng: random.Random,
    classification: str,
    *,
    voicemail: bool = False,
    slots: Mapping[str, str] | None = None,
) -> str:
    """A transcript that reads like a real call of this classification (or intent).

    Slots not given (location, agent, caller, street, city, vendor, room, minutes) are drawn
    from ``rng``, so the same Random state gives the same text.
    """
    intent = classification if classification in INTENTS else intent_for(rng, classification)
    template = rng.choice(templates(intent, voicemail=voicemail))
    people = catalogue.people()
    values = {
        **DEFAULT_SLOTS,
        "agent": rng.choice(people["agents"]),
        "vendor": rng.choice(people["sales_vendors"]),
        "room": rng.choice(ROOMS),
        "minutes": str(rng.randrange(35, 95, 5)),
        **(slots or {}),
    }
    return _SLOT.sub(lambda match: values[match.group(1)], template)


@cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found: list[tuple[str, re.Pattern[str]]] = []
    for intent in INTENTS:
        voicemails = catalogue.transcripts()["voicemail"].get(intent, [])
        for template in [*templates(intent), *voicemails]:
            parts = _SLOT.split(template)
            # split() alternates literal text and slot names; slots become lazy wildcards
            regex = "".join(re.escape(part) if index % 2 == 0 else ".+?" for index, part in enumerate(parts))
            found.append((intent, re.compile(regex, re.DOTALL)))
    return found


def transcript_intent(transcript: str) -> str | None:
    """The intent whose template produced ``transcript``, or None for free text."""
    for intent, pattern in _patterns():
        if pattern.fullmatch(transcript):
            return intent
    return None
