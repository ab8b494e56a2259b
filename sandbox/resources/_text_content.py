"""Generated copy for blog drafts and video scripts, from templates in ``data/content.yaml``."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path
from typing import Any

import yaml

TEMPLATES: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "data" / "content.yaml").read_text())
BLOG, VIDEO = TEMPLATES["blog"], TEMPLATES["video"]
MAX_BLOG_WORDS = 20_000  # a hard stop whatever the spec allows


def count_words(text: str) -> int:
    """Words as a reader counts them: tokens with a letter or digit (markdown marks excluded)."""
    return sum(1 for token in text.split() if re.search(r"\w", token))


def read_time_minutes(words: int) -> int:
    return max(1, math.ceil(words / int(BLOG["words_per_minute"])))


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _headline(keyword: str, city: str) -> str:
    """The keyword without its trailing city, title-cased: ``mold removal roswell`` → ``Mold Removal``."""
    words = keyword.split()
    city_words = city.lower().split()
    if city_words and [w.lower() for w in words[-len(city_words) :]] == city_words:
        words = words[: -len(city_words)]
    return " ".join(word.capitalize() for word in words) or keyword.title()


def blog_slots(keyword: str, area: dict[str, Any], service_type: str | None, location: str) -> dict[str, str]:
    """The values every blog template may use."""
    service = BLOG["services"].get(service_type or "", BLOG["default_service"])
    city = area.get("city") or "your area"
    region = area.get("region")
    return {
        "keyword": keyword,
        "keyword_title": _headline(keyword, city),
        "city": city,
        "region_name": region or city,
        "place_name": f"{city}, {region}" if region else city,
        "service": service["label"],
        "service_lower": service["label"].lower(),
        "suffix": service["suffix"],
        "location": location,
    }


def blog_title(slots: dict[str, str]) -> str:
    return str(BLOG["title"]).format(headline=slots["keyword_title"], **slots)


def blog_body(slots: dict[str, str], target: int, rng: random.Random) -> str:
    """Markdown whose word count reaches ``target`` (overshooting by at most one sentence)."""
    closing = BLOG["closing"].format(**slots)
    budget = min(target, MAX_BLOG_WORDS) - count_words(closing)
    sections, words, rounds = [], 0, 0
    while words < budget:
        for section in BLOG["sections"]:
            heading = "## " + section["heading"].format(**slots) + (f" (part {rounds + 1})" if rounds else "")
            sentences, words = _fill(section["sentences"], slots, budget, words + count_words(heading), rng)
            sections.append(heading + "\n\n" + " ".join(sentences))
            if words >= budget:
                break
        rounds += 1
    return "\n\n".join([*sections, closing])


def _fill(pool: list[str], slots: dict[str, str], budget: int, words: int, rng: random.Random) -> tuple[list[str], int]:
    """Shuffled sentences from ``pool`` (at least one) until the word count reaches ``budget``."""
    chosen: list[str] = []
    for template in rng.sample(pool, len(pool)):
        if words >= budget and chosen:
            break
        sentence = template.format(**slots)
        chosen.append(sentence)
        words += count_words(sentence)
    return chosen, words


def _damage(topic: str) -> str:
    lowered = topic.lower()
    for damage, words in VIDEO["topic_words"].items():
        if any(word in lowered for word in words):
            return str(damage)
    return "general"


def video_scenes(topic: str, seconds: int, location: str, rng: random.Random) -> list[dict[str, Any]]:
    """A hook, talking points and a call to action: one scene per ~20 seconds of runtime."""
    count = max(VIDEO["min_scenes"], min(VIDEO["max_scenes"], round(seconds / VIDEO["seconds_per_scene"])))
    topic_sentence = topic.strip().rstrip(".")
    topic_sentence = topic_sentence[:1].upper() + topic_sentence[1:]
    hook = rng.choice(VIDEO["hooks"]).format(topic_sentence=topic_sentence)
    pool = VIDEO["points"][_damage(topic)]
    points = [pool[(index + 1) % len(pool)] for index in range(count - 2)]
    cta = {name: text.format(location=location) for name, text in VIDEO["cta"].items()}
    opener = {"voiceover": hook, "broll_suggestion": pool[0]["broll_suggestion"], "lower_third": topic_sentence}
    return [{"scene": number, **beat} for number, beat in enumerate([opener, *points, cta], start=1)]


def cutdown(scenes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The 30-second variant: the hook, the strongest point and the call to action."""
    keep = [scenes[0], scenes[1], scenes[-1]] if len(scenes) > 3 else scenes
    return [{**beat, "scene": number} for number, beat in enumerate(keep, start=1)]
