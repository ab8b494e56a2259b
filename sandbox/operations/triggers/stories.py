"""The stories behind each webhook event type: what ``trigger`` makes, event by event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ...base.clock import isoformat
from ...base.ids import IdFactory
from ...resources.calls import detail as call_detail
from ...resources.claims import complete_extraction
from ...services.webhooks.subscriptions import EVENT_TYPES
from ...services.world import calls as world_calls
from ...services.world.seeding import Location, Seeding
from .story import Story, TriggerError, pools

NEGATIVE_REVIEWS = (
    "Crew showed up four hours late and left drywall dust all over the hallway.",
    "Nobody called back about the mold test results. Two weeks and still waiting.",
    "The dehumidifiers ran for a week and the basement still smells musty.",
)
REPLIES = (
    ("interested", "Yes, please call me tomorrow morning, the ceiling stain is getting bigger."),
    ("question", "Does my homeowner's insurance usually cover this kind of water damage?"),
    ("not_interested", "We already hired someone, thanks."),
)


def _inbound_call(story: Story, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """A call from the world's generator (first draw that fits ``wanted``), stored, received and
    classified."""
    sandbox, now = story.sandbox, story.sandbox.clock.now()
    organization = sandbox.store.get("organization", None, story.org_id) or {}
    area = organization.get("service_area") or {}
    location = Location(organization, {"cities": {area.get("city", "Atlanta"): area.get("postal_codes", [])}}, [])
    record: dict[str, Any] = {}
    for attempt in range(200):
        rng = story.fork(attempt)
        seeding = Seeding(rng, IdFactory(rng), pools(sandbox.settings.SEED), now)
        record = world_calls.build_call(seeding, location, now, world_calls.tracking_numbers(seeding))
        if wanted(record):
            break
    received = now - timedelta(seconds=record["duration_seconds"] + record["classification_seconds"])
    record.update(
        id=sandbox.ids.prefixed("call"),
        organization_id=story.org_id,
        received_at=isoformat(received),
        created_at=isoformat(received),
    )
    sandbox.store.insert("call", record)
    story.made("call", record["id"])
    sandbox.webhooks.emit(story.org_id, "call.received", _call_detail(story, record))
    classification = {name: record[name] for name in ("intent", "confidence", "urgency", "qualified")}
    sandbox.audit.record(story.org_id, "call.classified", {"call_id": record["id"], **classification}, source="worker")
    sandbox.webhooks.emit(story.org_id, "call.classified", _call_detail(story, record))
    return record


def _call_detail(story: Story, record: dict[str, Any]) -> dict[str, Any]:
    """The call as GET /calls/{id} shows it (what the call.* events carry)."""
    return call_detail(story.request("get_call", path={"id": record["id"]}), record)


def _unqualified_call(story: Story) -> None:
    _inbound_call(story, lambda call: call["status"] == "completed" and not call["qualified"])


def _qualified_call(story: Story) -> None:
    record = _inbound_call(story, lambda call: call["qualified"])
    first, last, email = story.person()
    lead = story.call(
        "create_lead",
        {
            "name": f"{first} {last}",
            "email": email,
            "phone": record["caller_number"],
            "source": "callrail",
            "pain_points": _pain_point(record),
        },
    )
    story.made("lead", lead["id"])
    story.sandbox.webhooks.emit(
        story.org_id, "call.qualified", {"call": _call_detail(story, record), "lead_id": lead["id"]}
    )


def _pain_point(record: dict[str, Any]) -> str:
    return f"{record['intent'].title()} damage reported by phone ({record['urgency']} urgency)"


# Leads and outreach --------------------------------------------------------------------------


def _lead_created(story: Story) -> None:
    first, last, email = story.person()
    lead = story.call("create_lead", {"name": f"{first} {last}", "email": email})
    story.made("lead", lead["id"])


def _newest_lead(story: Story, stage: str) -> dict[str, Any]:
    for lead in story.sandbox.store.scan("lead", story.org_id):
        if lead["pipeline_stage"] == stage and (stage != "won" or lead.get("email")):
            return lead
    raise TriggerError(f"this organization has no lead in stage '{stage}'")


def _lead_updated(story: Story) -> None:
    try:
        lead = _newest_lead(story, "new")
    except TriggerError:
        _lead_created(story)
        lead = _newest_lead(story, "new")
    story.call("update_lead", {"pipeline_stage": "contacted"}, {"id": lead["id"]})
    story.made("lead", lead["id"])


def _email_sent(story: Story) -> dict[str, Any]:
    first, last, email = story.person()
    lead = story.call("create_lead", {"name": f"{first} {last}", "email": email})
    story.made("lead", lead["id"])
    sent = story.call(
        "send_outreach",
        {
            "channel": "email",
            "to": email,
            "lead_id": lead["id"],
            "subject": "Following up on your water damage inspection",
            "body": f"Hi {first}, thanks for reaching out. When is a good time for a free moisture assessment?",
        },
    )
    story.made("message", sent["message_id"])
    return {"message_id": sent["message_id"], "lead_id": lead["id"], "to": email}


def _email_replied(story: Story) -> None:
    sent = _email_sent(story)
    sandbox, now = story.sandbox, isoformat(story.sandbox.clock.now())
    intent, text = story.rng.choice(REPLIES)
    sandbox.store.update("message", story.org_id, sent["message_id"], {"status": "replied", "replied_at": now})
    sandbox.audit.record(
        story.org_id,
        "outreach.replied",
        {"message_id": sent["message_id"], "lead_id": sent["lead_id"], "intent": intent},
        source="worker",
    )
    sandbox.webhooks.emit(
        story.org_id,
        "outreach.email.replied",
        {
            "message_id": sent["message_id"],
            "from": sent["to"],
            "reply_text": text,
            "classification": intent,
            "lead_id": sent["lead_id"],
            "replied_at": now,
        },
    )


# Claims and reviews --------------------------------------------------------------------------


def _claim_ready(story: Story) -> None:
    loss_type = story.rng.choice(("water", "water", "fire", "mold"))
    claim = story.call(
        "create_claim",
        {
            "loss_type": loss_type,
            "source": photo_source(story),
            "job_external_ref": f"jn_{story.rng.randrange(100000, 999999)}",
        },
    )
    story.made("claim", claim["id"])
    # Extraction finishes now instead of CLAIM_EXTRACTION_SECONDS later; the scheduled task finds
    # it done and does nothing.
    story.sandbox.store.update(
        "claim", story.org_id, claim["id"], {"estimated_ready_at": isoformat(story.sandbox.clock.now())}
    )
    complete_extraction(story.sandbox, story.org_id, claim["id"])


def photo_source(story: Story) -> dict[str, str]:
    """The CompanyCam project a claim's photos come from."""
    return {"vendor": "companycam", "project_id": f"cc_proj_{story.rng.randint(1000, 9999)}"}


def _review_requested(story: Story) -> None:
    sandbox, now = story.sandbox, isoformat(story.sandbox.clock.now())
    lead = _newest_lead(story, "won")
    channel, to = ("sms", lead["phone"]) if lead.get("phone") else ("email", lead["email"])
    message = {
        "id": sandbox.ids.prefixed("msg"),
        "organization_id": story.org_id,
        "channel": channel,
        "to": to,
        "subject": None,
        "lead_id": lead["id"],
        "status": "queued",
        "queued_at": now,
        "created_at": now,
        "body": "Thanks for choosing us! Would you leave a quick review? https://g.page/r/example/review",
    }
    sandbox.store.insert("message", message)
    story.made("message", message["id"])
    sandbox.audit.record(
        story.org_id,
        "review.requested",
        {"lead_id": lead["id"], "message_id": message["id"], "channel": channel},
        source="cron",
    )
    sandbox.webhooks.emit(
        story.org_id,
        "review.requested",
        {
            "review_request_id": message["id"],
            "customer_name": lead["name"],
            "channel": channel,
            "job_external_ref": (lead.get("crm_sync") or {}).get("external_id"),
            "lead_id": lead["id"],
            "to": to,
        },
    )


def _review_received(story: Story) -> None:
    first, last, _ = story.person()
    reply = story.call(
        "create_review_response",
        {
            "review_id": f"rev_{story.rng.randrange(10**7, 10**8)}",
            "platform": "google",
            "rating": story.rng.choice((1, 2)),
            "reviewer_name": f"{first} {last[0]}.",
            "review_text": story.rng.choice(NEGATIVE_REVIEWS),
        },
    )
    story.made("content", reply["id"])


def _audited_action(story: Story) -> None:
    first, last, email = story.person()
    entry = story.call("create_suppression", {"channel": "email", "address": email, "reason": "manual_owner_request"})
    story.made("suppression", entry["id"])


STORIES: dict[str, Callable[[Story], Any]] = {
    "call.received": _unqualified_call,
    "call.classified": _unqualified_call,
    "call.qualified": _qualified_call,
    "lead.created": _lead_created,
    "lead.updated": _lead_updated,
    "outreach.email.sent": _email_sent,
    "outreach.email.replied": _email_replied,
    "claim.scope.ready": _claim_ready,
    "review.requested": _review_requested,
    "review.received": _review_received,
    "audit.log.event": _audited_action,
}
assert set(STORIES) == set(EVENT_TYPES), "every webhook event type needs a trigger story"
