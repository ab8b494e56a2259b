"""Review sentiment and the brand-aligned reply, from templates in ``data/content.yaml``."""

from __future__ import annotations

import random
import re
from typing import Any

from ._text_content import TEMPLATES

REVIEW: dict[str, Any] = TEMPLATES["review"]
DEFAULT_TONE = "warm-professional"


def _hits(text: str, phrases: list[str]) -> int:
    """How many of ``phrases`` occur in ``text`` as whole words."""
    return sum(1 for phrase in phrases if re.search(rf"\b{re.escape(phrase)}", text))


def classify(rating: int, review_text: str) -> str:
    """positive, neutral or negative: 1–2 stars are negative; net-negative words sink 3–4 stars."""
    text = review_text.lower()
    negative, positive = _hits(text, REVIEW["negative_words"]), _hits(text, REVIEW["positive_words"])
    if rating <= 2 or (rating <= 4 and negative > positive):
        return "negative"
    return "positive" if rating >= 4 else "neutral"


def _detail(sentiment: str, review_text: str) -> str:
    """What the review talks about, echoed back in the reply."""
    text = review_text.lower()
    for rule in REVIEW["details"].get(sentiment, []):
        if _hits(text, rule["words"]):
            return str(rule["detail"])
    return str(REVIEW["default_detail"][sentiment])


def first_name(reviewer_name: str | None) -> str | None:
    """The reviewer's first name, or None when the platform hid it."""
    parts = (reviewer_name or "").strip().split()
    return parts[0].capitalize() if parts else None


def compose(sentiment: str, review: dict[str, Any], location: str, rng: random.Random) -> str:
    """A personalised reply in the requested tone, the same for the same review."""
    name = first_name(review.get("reviewer_name"))
    detail = _detail(sentiment, review.get("review_text") or "")
    template = rng.choice(REVIEW["responses"][sentiment])
    reply = template.format(name_comma=f", {name}" if name else "", detail=detail, location=location)
    sign_offs = REVIEW["sign_offs"]
    sign_off = sign_offs.get(review.get("tone") or DEFAULT_TONE, sign_offs[DEFAULT_TONE])
    return f"{reply} — {sign_off.format(location=location)}"
