"""Marketing content: generated blog drafts, video scripts and review replies, and publishing.

Nothing leaves the sandbox: publishing records per-channel results and URLs on example.com.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from ..base.clock import isoformat, parse_iso
from ..base.errors import Conflict
from ._text_content import (
    TEMPLATES,
    blog_body,
    blog_slots,
    blog_title,
    count_words,
    cutdown,
    read_time_minutes,
    slugify,
    video_scenes,
)
from ._text_review import classify, compose
from .lookups import find, matching, project
from .pagination import list_page
from .request import ApiRequest, Reply

LIST_FIELDS = (
    "id",
    "type",
    "title",
    "status",
    "channel",
    "url",
    "word_count",
    "target_keyword",
    "published_at",
    "scheduled_for",
    "created_at",
)
summary = project(LIST_FIELDS, shared=True)
blog_view = project(
    ("id", "type", "status", "title", "target_keyword", "estimated_read_time_min", "word_count", "created_at")
)
video_view = project(("id", "type", "status", "title", "duration_seconds", "scenes", "cutdown_30s_id", "created_at"))
review_view = project(
    (
        "id",
        "type",
        "status",
        "review_id",
        "response_text",
        "sentiment",
        "auto_publish_recommended",
        "routed_to",
        "created_at",
    )
)
DIRECT_CHANNELS: dict[str, str] = TEMPLATES["publish"]["direct"]


def list_content(request: ApiRequest) -> dict[str, Any]:
    """Page through the organization's content, newest first."""
    return list_page(request, "content", where=matching(request, ("type", "status", "channel")), view=summary)


def _location(request: ApiRequest) -> str:
    """The franchise name the copy speaks for."""
    organization = request.sandbox.store.get("organization", None, request.org_id) or {}
    return str(organization.get("name") or "our team")


def _store(request: ApiRequest, fields: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
    """Insert a draft content record (plus any variants) and audit its creation."""
    sandbox, now = request.sandbox, request.now_iso()
    base: dict[str, Any] = {name: None for name in LIST_FIELDS}
    base.update(organization_id=request.org_id, status="draft", created_at=now, updated_at=now)
    record = {**base, **fields}
    with sandbox.store.transaction():
        for item in (record, *({**base, **variant} for variant in extra)):
            sandbox.store.insert("content", item)
        request.audit(
            "content.created",
            {
                "content_id": record["id"],
                "type": record["type"],
                **({"routed_to": record["routed_to"]} if record.get("routed_to") else {}),
            },
        )
    return record


def create_blog_draft(request: ApiRequest) -> Reply:
    """Draft an SEO post for a keyword and service area, sized to the word-count target."""
    body = request.body
    target = body.get("word_count_target") or TEMPLATES["blog"]["default_word_count"]
    slots = blog_slots(
        body["target_keyword"], body.get("service_area") or {}, body.get("service_type"), _location(request)
    )
    rng = request.sandbox.rng("blog", request.org_id, body["target_keyword"], sorted(slots.items()), target)
    text = blog_body(slots, target, rng)
    words = count_words(text)
    record = _store(
        request,
        {
            "id": request.sandbox.ids.prefixed("ctnt"),
            "type": "blog",
            "title": blog_title(slots),
            "target_keyword": body["target_keyword"],
            "service_area": body.get("service_area"),
            "service_type": body.get("service_type"),
            "body": text,
            "word_count": words,
            "word_count_target": target,
            "estimated_read_time_min": read_time_minutes(words),
        },
    )
    return Reply(blog_view(record), 201)


def create_video_script(request: ApiRequest) -> Reply:
    """Script a video in ~20-second scenes, with a stored 30-second cutdown variant."""
    body, location = request.body, _location(request)
    seconds = body.get("duration_seconds") or 60
    rng = request.sandbox.rng("video", request.org_id, body["topic"], body.get("format"), seconds)
    scenes = video_scenes(body["topic"], seconds, location, rng)
    content_id, short = request.sandbox.ids.prefixed("ctnt"), cutdown(scenes)
    video = {"type": "video", "title": body["topic"], "target_keyword": None, "format": body.get("format")}
    record = _store(
        request,
        {
            **video,
            "id": content_id,
            "duration_seconds": seconds,
            "scenes": scenes,
            "word_count": _spoken_words(scenes),
            "cutdown_30s_id": f"{content_id}_30s",
        },
        {
            **video,
            "id": f"{content_id}_30s",
            "title": f"{body['topic']} (30s cutdown)",
            "duration_seconds": 30,
            "scenes": short,
            "word_count": _spoken_words(short),
            "parent_id": content_id,
        },
    )
    return Reply(video_view(record), 201)


def _spoken_words(scenes: list[dict[str, Any]]) -> int:
    return sum(count_words(scene["voiceover"]) for scene in scenes)


def create_review_response(request: ApiRequest) -> Reply:
    """Reply to a review; negative ones go to the owner and are never auto-published."""
    review, sandbox = request.body, request.sandbox
    sentiment = classify(review["rating"], review.get("review_text") or "")
    rng = sandbox.rng("review", request.org_id, review["review_id"], sentiment, review.get("tone"))
    response_text = compose(sentiment, review, _location(request), rng)
    negative = sentiment == "negative"
    who = f"{review['reviewer_name']}'s" if review.get("reviewer_name") else "a"
    platform = review.get("platform") or "google"
    with sandbox.store.transaction():  # the response and its event in one step
        record = _store(
            request,
            {
                "id": sandbox.ids.prefixed("ctnt"),
                "type": "review_response",
                "channel": platform,
                "title": f"Reply to {who} {review['rating']}-star {platform.title()} review",
                "review_id": review["review_id"],
                "platform": platform,
                "rating": review["rating"],
                "review_text": review.get("review_text"),
                "sentiment": sentiment,
                "response_text": response_text,
                "word_count": count_words(response_text),
                "auto_publish_recommended": sentiment == "positive",
                "routed_to": "owner" if negative else None,
                "approval_status": "awaiting_owner" if negative else "not_required",
            },
        )
        if negative:
            sandbox.webhooks.emit(
                request.org_id,
                "review.received",
                {
                    "content_id": record["id"],
                    "review_id": record["review_id"],
                    "platform": platform,
                    "rating": record["rating"],
                    "sentiment": sentiment,
                    "routed_to": "owner",
                    "auto_publish_recommended": False,
                    "review_text": record["review_text"],
                    "reviewer_name": review.get("reviewer_name"),
                },
            )
    return Reply(review_view(record), 201)


def _next_slot(now: datetime) -> datetime:
    """Social posts go out at the top of the next hour."""
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _channel_result(record: dict[str, Any], channel: str, now: datetime, scheduled: datetime | None) -> dict[str, Any]:
    """What one channel did with the content (nothing really leaves the sandbox)."""
    if scheduled is not None:
        return {"channel": channel, "status": "scheduled", "estimated_publish_at": isoformat(scheduled)}
    if channel not in DIRECT_CHANNELS:
        return {"channel": channel, "status": "queued", "estimated_publish_at": isoformat(_next_slot(now))}
    short_id = record["id"].removeprefix("ctnt_")
    url = DIRECT_CHANNELS[channel].format(
        slug=quote(slugify(record.get("title") or short_id), safe=""),
        short_id=quote(short_id, safe=""),
        review_id=quote(record.get("review_id") or short_id, safe=""),
    )
    return {"channel": channel, "status": "published", "url": url}


def _awaiting_owner(record: dict[str, Any]) -> bool:
    return (
        record["type"] == "review_response"
        and record.get("sentiment") == "negative"
        and record.get("approval_status") != "approved"
    )


def publish_content(request: ApiRequest) -> dict[str, Any]:
    """Publish or schedule to each channel; negative review replies wait for the owner."""
    sandbox, now = request.sandbox, request.sandbox.clock.now()
    scheduled_for = request.body.get("scheduled_for")
    scheduled = parse_iso(scheduled_for) if scheduled_for else None
    scheduled = scheduled if scheduled and scheduled > now else None
    with sandbox.store.transaction():
        record = find(request, "content", request.path["id"], "content")
        if _awaiting_owner(record):
            raise Conflict(
                f"Content '{record['id']}' replies to a negative review and is awaiting the franchise "
                "owner's approval; it cannot be published through the API",
                details={
                    "id": record["id"],
                    "sentiment": "negative",
                    "routed_to": "owner",
                    "approval_status": "awaiting_owner",
                },
            )
        results = [
            _channel_result(record, channel, now, scheduled) for channel in dict.fromkeys(request.body["channels"])
        ]
        sandbox.store.update("content", request.org_id, record["id"], _publication(record, results, now))
        request.audit(
            "content.published",
            {
                "content_id": record["id"],
                "results": [{"channel": r["channel"], "status": r["status"]} for r in results],
            },
        )
    return {"id": record["id"], "results": results}


def _publication(record: dict[str, Any], results: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The record's new status, URL and timestamps after a publish request."""
    published = [r for r in results if r["status"] == "published"]
    changes: dict[str, Any] = {
        "updated_at": isoformat(now),
        "publications": [*(record.get("publications") or []), *results],
    }
    if published:
        changes.update(
            status="published", published_at=isoformat(now), channel=published[0]["channel"], url=published[0]["url"]
        )
    elif results and record["status"] != "published":
        changes.update(
            status="scheduled",
            channel=results[0]["channel"],
            scheduled_for=min(r["estimated_publish_at"] for r in results),
        )
    return changes
