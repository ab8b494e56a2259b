"""Content: filtered lists, generated drafts, review replies and per-channel publishing."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.support import auth

pytestmark = pytest.mark.both_stores

BLOG = {
    "target_keyword": "mold removal roswell",
    "service_area": {"city": "Roswell", "region": "GA", "postal_code": "30075"},
    "service_type": "mold_remediation",
    "word_count_target": 2000,
}
REVIEW = {
    "platform": "google",
    "review_id": "g_review_z2x8c4v1",
    "rating": 5,
    "reviewer_name": "Sarah Mitchell",
    "review_text": "PuroClean was at our house within 45 minutes after a pipe burst...",
    "tone": "warm-professional",
}
VIDEO = {"topic": "5 signs of hidden water damage in your basement", "format": "feature", "duration_seconds": 180}


def post(client: Any, token: str, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/content{path}", json=body, headers=auth(token))


def emitted(sandbox: Any, org_id: str, event_type: str) -> list[dict[str, Any]]:
    """The data of every webhook event of this type the organization's handlers emitted."""
    return [event["data"] for event in sandbox.store.scan("event", org_id) if event["type"] == event_type]


def audited(sandbox: Any, org_id: str, action: str, content_id: str) -> bool:
    """Whether an audit event of ``action`` names this content."""
    return any(
        event["action"] == action and event["payload"].get("content_id") == content_id
        for event in sandbox.store.scan("audit_event", org_id)
    )


@pytest.mark.parametrize("field", ["type", "status", "channel"])
def test_list_filters_match_every_seeded_value(client, keys, sandbox, field):
    records = list(sandbox.store.scan("content", keys["org_id"]))
    for value in {record[field] for record in records}:
        body = client.get(
            "/api/v1/content", query_string={field: value, "limit": 200}, headers=auth(keys["read"])
        ).get_json()
        assert [c["id"] for c in body["data"]] == [r["id"] for r in records if r[field] == value]


def test_list_pages_with_cursor(client, keys, sandbox):
    first = client.get("/api/v1/content?limit=5", headers=auth(keys["read"])).get_json()
    second = client.get(
        "/api/v1/content", query_string={"limit": 5, "cursor": first["next_cursor"]}, headers=auth(keys["read"])
    ).get_json()
    ids = [c["id"] for c in first["data"] + second["data"]]
    assert ids == [r["id"] for r in sandbox.store.scan("content", keys["org_id"])][:10]


def test_blog_draft_matches_the_seed_example(client, keys, sandbox):
    response = post(client, keys["write"], "/blog", BLOG)
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("ctnt_") and (body["type"], body["status"]) == ("blog", "draft")
    assert body["title"] == "Mold Removal in Roswell, GA, What Homeowners Need to Know"
    assert body["estimated_read_time_min"] == math.ceil(body["word_count"] / 230)
    stored = sandbox.store.get("content", keys["org_id"], body["id"])
    assert stored["status"] == "draft" and stored["target_keyword"] == "mold removal roswell"
    assert audited(sandbox, keys["org_id"], "content.created", body["id"])


@pytest.mark.parametrize("target", [300, 800, 1500, 2000, 4000, None])
def test_blog_word_count_is_near_the_target(client, keys, sandbox, target):
    request = (
        {**BLOG, "word_count_target": target} if target else {k: v for k, v in BLOG.items() if k != "word_count_target"}
    )
    body = post(client, keys["write"], "/blog", request).get_json()
    wanted = target or 1500
    assert wanted <= body["word_count"] <= wanted + 50  # at most a heading and a sentence over
    stored = sandbox.store.get("content", keys["org_id"], body["id"])
    assert len(stored["body"].split()) >= body["word_count"]


def test_blog_text_is_deterministic(client, keys, sandbox):
    first, second = (post(client, keys["write"], "/blog", BLOG).get_json() for _ in range(2))
    texts = [sandbox.store.get("content", keys["org_id"], body["id"])["body"] for body in (first, second)]
    assert first["id"] != second["id"] and texts[0] == texts[1]
    assert (first["title"], first["word_count"]) == (second["title"], second["word_count"])


@pytest.mark.parametrize(("seconds", "scenes"), [(30, 3), (60, 3), (90, 4), (180, 9), (600, 12)])
def test_video_scenes_are_sized_to_the_duration(client, keys, sandbox, seconds, scenes):
    response = post(client, keys["write"], "/video-script", {**VIDEO, "duration_seconds": seconds})
    assert response.status_code == 201
    body = response.get_json()
    assert [scene["scene"] for scene in body["scenes"]] == list(range(1, scenes + 1))
    assert all(scene["voiceover"] and scene["broll_suggestion"] and scene["lower_third"] for scene in body["scenes"])
    assert body["cutdown_30s_id"] == body["id"] + "_30s"
    cutdown = sandbox.store.get("content", keys["org_id"], body["cutdown_30s_id"])
    assert cutdown["duration_seconds"] == 30 and len(cutdown["scenes"]) <= 3


def test_video_script_opens_on_the_topic(client, keys):
    body = post(client, keys["write"], "/video-script", VIDEO).get_json()
    assert body["scenes"][0]["voiceover"].startswith("5 signs of hidden water damage in your basement")
    assert body["scenes"][0]["broll_suggestion"] == "basement wall close-up"
    assert "Call " in body["scenes"][-1]["voiceover"]


@pytest.mark.parametrize(
    ("rating", "text", "sentiment", "auto_publish"),
    [
        (5, REVIEW["review_text"], "positive", True),
        (4, "Good crew, fast and professional.", "positive", True),
        (3, "The drying work was fine but the equipment was loud.", "neutral", False),
        (3, "Nobody called me back for two days and the estimate was higher than quoted.", "negative", False),
        (4, "The crew left debris in the driveway and the manager was hard to reach.", "negative", False),
        (2, "Great crew.", "negative", False),
        (1, "", "negative", False),
    ],
)
def test_review_sentiment_reads_rating_and_text(client, keys, rating, text, sentiment, auto_publish):
    body = post(client, keys["write"], "/review-response", {**REVIEW, "rating": rating, "review_text": text}).get_json()
    assert (body["sentiment"], body["auto_publish_recommended"]) == (sentiment, auto_publish)
    assert body["response_text"]


def test_positive_review_reply_is_personal_and_deterministic(client, keys, sandbox):
    first, second = (post(client, keys["write"], "/review-response", REVIEW).get_json() for _ in range(2))
    assert first["response_text"] == second["response_text"]
    assert "Sarah" in first["response_text"] and "Mitchell" not in first["response_text"]
    assert not emitted(sandbox, keys["org_id"], "review.received")


def test_negative_review_routes_to_owner_and_emits_webhook(client, keys, sandbox):
    review = {**REVIEW, "rating": 1, "review_text": "Nobody called me back and the crew left debris."}
    body = post(client, keys["write"], "/review-response", review).get_json()
    assert body["routed_to"] == "owner" and body["auto_publish_recommended"] is False
    assert body["status"] == "draft"
    received = emitted(sandbox, keys["org_id"], "review.received")
    assert received[0]["content_id"] == body["id"] and received[0]["routed_to"] == "owner"
    blocked = client.post(
        f"/api/v1/content/{body['id']}/publish", json={"channels": ["google"]}, headers=auth(keys["write"])
    )
    assert blocked.status_code == 409
    assert "owner" in blocked.get_json()["error"]["message"]
    assert sandbox.store.get("content", keys["org_id"], body["id"])["status"] == "draft"


def test_seeded_style_negative_reply_cannot_be_published(client, keys, sandbox):
    negative = {
        "id": "ctnt_seedednegative",
        "organization_id": keys["org_id"],
        "type": "review_response",
        "title": "Reply to a 1-star Google review",
        "status": "draft",
        "channel": "google",
        "url": None,
        "word_count": 20,
        "target_keyword": None,
        "published_at": None,
        "review_id": "g_review_x",
        "rating": 1,
        "sentiment": "negative",
        "created_at": "2026-10-01T12:00:00.000Z",
    }
    sandbox.store.insert("content", negative)
    response = client.post(
        f"/api/v1/content/{negative['id']}/publish", json={"channels": ["google"]}, headers=auth(keys["write"])
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("channel", "status"),
    [
        ("wordpress", "published"),
        ("gbp", "published"),
        ("instagram", "queued"),
        ("facebook", "queued"),
        ("linkedin", "queued"),
    ],
)
def test_publish_result_per_channel(client, keys, sandbox, channel, status):
    draft = post(client, keys["write"], "/blog", BLOG).get_json()
    body = client.post(
        f"/api/v1/content/{draft['id']}/publish", json={"channels": [channel]}, headers=auth(keys["write"])
    ).get_json()
    assert body["id"] == draft["id"]
    (result,) = body["results"]
    assert (result["channel"], result["status"]) == (channel, status)
    if status == "published":
        assert result["url"].startswith("https://example.com/")
    else:
        assert result["estimated_publish_at"] == "2026-11-02T16:00:00.000Z"
    stored = sandbox.store.get("content", keys["org_id"], draft["id"])
    assert stored["status"] == ("published" if status == "published" else "scheduled")


def test_publish_mixed_channels_updates_record_and_audits(client, keys, sandbox):
    draft = post(client, keys["write"], "/blog", BLOG).get_json()
    body = client.post(
        f"/api/v1/content/{draft['id']}/publish",
        json={"channels": ["wordpress", "instagram", "facebook"], "scheduled_for": None},
        headers=auth(keys["write"]),
    ).get_json()
    assert [r["status"] for r in body["results"]] == ["published", "queued", "queued"]
    stored = sandbox.store.get("content", keys["org_id"], draft["id"])
    assert stored["published_at"] == "2026-11-02T15:30:00.000Z" and stored["url"] == body["results"][0]["url"]
    assert audited(sandbox, keys["org_id"], "content.published", draft["id"])


def test_publish_in_the_future_schedules_every_channel(client, keys, sandbox):
    draft = post(client, keys["write"], "/blog", BLOG).get_json()
    when = "2026-11-05T14:00:00.000Z"
    body = client.post(
        f"/api/v1/content/{draft['id']}/publish",
        json={"channels": ["wordpress", "instagram"], "scheduled_for": when},
        headers=auth(keys["write"]),
    ).get_json()
    assert {(r["status"], r["estimated_publish_at"]) for r in body["results"]} == {("scheduled", when)}
    stored = sandbox.store.get("content", keys["org_id"], draft["id"])
    assert (stored["status"], stored["scheduled_for"]) == ("scheduled", when)


def test_publish_the_video_cutdown(client, keys):
    video = post(client, keys["write"], "/video-script", VIDEO).get_json()
    response = client.post(
        f"/api/v1/content/{video['cutdown_30s_id']}/publish",
        json={"channels": ["instagram"]},
        headers=auth(keys["write"]),
    )
    assert response.status_code == 200


@pytest.mark.parametrize("whose", ["other_tenant", "unknown"])
def test_publish_foreign_or_unknown_content_is_404(client, keys, sandbox, whose):
    content_id = (
        next(sandbox.store.scan("content", keys["other_org_id"]))["id"]
        if whose == "other_tenant"
        else "ctnt_doesnotexist"
    )
    response = client.post(
        f"/api/v1/content/{content_id}/publish", json={"channels": ["wordpress"]}, headers=auth(keys["write"])
    )
    assert response.status_code == 404


@pytest.mark.parametrize(("path", "body"), [("/blog", BLOG), ("/video-script", VIDEO), ("/review-response", REVIEW)])
def test_generation_needs_write_scope(client, keys, path, body):
    assert post(client, keys["read"], path, body).status_code == 403
