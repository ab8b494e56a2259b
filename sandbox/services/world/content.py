"""Marketing content: blog posts, video scripts, social posts and review responses."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any

from ...base.clock import isoformat
from . import catalogue
from .seeding import Location, Seeding

TYPES = {"blog": 10, "social": 9, "video": 5, "review_response": 6}
STATUSES = {"draft": 25, "scheduled": 15, "published": 60}
CHANNELS = {
    "blog": ("wordpress",),
    "video": ("instagram", "facebook", "linkedin"),
    "social": ("instagram", "facebook", "linkedin", "gbp"),
    "review_response": ("google",),
}
WORD_COUNTS = {"blog": (1200, 2400), "video": (250, 520), "social": (30, 160)}
RATINGS = {5: 60, 4: 18, 3: 8, 2: 6, 1: 8}
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def sentiment_of(rating: int) -> str:
    """Review sentiment from its star rating."""
    return "positive" if rating >= 4 else "neutral" if rating == 3 else "negative"


def review_response_text(rng: random.Random, sentiment: str, *, first: str, location: str, city: str) -> str:
    """A brand-aligned reply to a review of this sentiment, addressed to the reviewer."""
    template = rng.choice(catalogue.content()["responses"][sentiment])
    return str(template.format(first=first, location=location, city=city))


def slug(text: str) -> str:
    return _NON_SLUG.sub("-", text.lower()).strip("-")


def _copy(seeding: Seeding, location: Location, kind: str, city: str) -> dict[str, Any]:
    rng, copy = seeding.rng, catalogue.content()
    topic = rng.choice(copy["video_topics"])
    service = copy["services"][topic["service"] if kind == "video" else rng.choice(tuple(copy["services"]))]
    keyword = f"{service['keyword']} {city.lower()}"
    slots = {
        "service": service["label"],
        "city": city,
        "keyword": keyword,
        "location": location.name,
        "place": rng.choice(location.area["places"]),
    }
    if kind == "blog":
        return {"title": rng.choice(copy["blog_titles"]).format(**slots), "target_keyword": keyword}
    if kind == "social":
        return {"title": rng.choice(copy["social_titles"]).format(**slots), "target_keyword": keyword}
    scenes = [
        {
            "scene": index,
            "voiceover": scene["voiceover"].format(**slots),
            "broll_suggestion": scene["broll_suggestion"],
        }
        for index, scene in enumerate(topic["scenes"], 1)
    ]
    return {"title": topic["title"].format(**slots), "target_keyword": keyword, "scenes": scenes}


def _review_copy(seeding: Seeding, location: Location, city: str) -> dict[str, Any]:
    rng = seeding.rng
    first, last = seeding.pools.person(rng)
    rating = int(seeding.pick({str(stars): weight for stars, weight in RATINGS.items()}))
    sentiment = sentiment_of(rating)
    review = rng.choice(catalogue.content()["reviews"][sentiment]).format(location=location.name)
    response = review_response_text(rng, sentiment, first=first, location=location.name, city=city)
    return {
        "title": f"Reply to {first} {last[0]}.'s {rating}-star Google review",
        "target_keyword": None,
        "review_id": seeding.ids.prefixed("g_review", 8),
        "platform": "google",
        "rating": rating,
        "review_text": review,
        "sentiment": sentiment,
        "response_text": response,
        "auto_publish_recommended": sentiment == "positive",
        "routed_to": "owner" if sentiment == "negative" else None,
        "word_count": len(response.split()),
    }


def _schedule(seeding: Seeding, status: str, created: datetime) -> dict[str, Any]:
    published = scheduled = None
    if status == "published":
        published = seeding.after(created, 3600, 10 * 86_400)
    if status == "scheduled":
        scheduled = seeding.anchor + timedelta(days=seeding.rng.randint(1, 14), hours=seeding.rng.randint(0, 12))
    return {
        "published_at": published and isoformat(published),
        "scheduled_for": scheduled and isoformat(scheduled.replace(minute=0, second=0, microsecond=0)),
    }


def build_content_item(seeding: Seeding, location: Location) -> dict[str, Any]:
    """One piece of content; negative-review responses stay drafts for the owner."""
    rng = seeding.rng
    kind, city = seeding.pick(TYPES), rng.choice(location.cities())
    item_id = seeding.ids.prefixed("ctnt")
    copy = _review_copy(seeding, location, city) if kind == "review_response" else _copy(seeding, location, kind, city)
    status = "draft" if copy.get("sentiment") == "negative" else seeding.pick(STATUSES)
    created = seeding.ago(1, 120)
    item = {
        "id": item_id,
        "organization_id": location.id,
        "type": kind,
        "status": status,
        "channel": rng.choice(CHANNELS[kind]),
        "url": None,
        "word_count": copy.pop("word_count", None) or rng.randint(*WORD_COUNTS[kind]),
        **copy,
        **_schedule(seeding, status, created),
        "created_at": isoformat(created),
    }
    item["updated_at"] = item["published_at"] or item["created_at"]
    if kind == "video":
        item["cutdown_30s_id"] = f"{item_id}_30s"
    if status == "published":
        item["url"] = _url(item)
    return item


def _url(item: dict[str, Any]) -> str:
    if item["type"] == "blog":
        return f"https://example.com/blog/{slug(item['title'])}"
    if item["type"] == "review_response":
        return f"https://example.com/reviews/{item['review_id']}"
    return f"https://example.com/{item['channel']}/{item['id'].removeprefix('ctnt_')}"


def build_content(seeding: Seeding, location: Location) -> list[dict[str, Any]]:
    """About thirty content items for one location."""
    return [build_content_item(seeding, location) for _ in range(seeding.rng.randint(27, 33))]
