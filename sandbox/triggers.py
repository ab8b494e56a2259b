"""``trigger``: make the realistic state behind one webhook event, like ``stripe trigger``.

Each event type has a small story. Records are made by the same code the API handlers run (a
``Call`` is built for the organization's write key, and its body is checked against the spec
first), or by the world generators for what has no create endpoint (inbound calls). Every event
the story emits is delivered to the organization's subscriptions as usual.

================== =====================================================================
event              what happens
================== =====================================================================
call.received      an unqualified call (sales pitch, wrong number…): received, classified
call.classified    the same story
call.qualified     a damage call that qualifies: received, classified, qualified, and the
                   lead it becomes (lead.created); its dispatch decision is on the call
lead.created       a web-form lead, through POST /leads
lead.updated       the newest ``new`` lead moves to ``contacted``, through PATCH /leads/{id}
outreach.email.sent    an email to a lead, through POST /outreach/send
outreach.email.replied that email, then the lead's reply, classified
claim.scope.ready  a claim through POST /claims whose extraction finishes at once
review.requested   a won lead is texted a review request after the job
review.received    a negative Google review arrives and is routed to the owner
audit.log.event    an audited action: an address added to the suppression list
================== =====================================================================
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from .call import Call
from .clock import isoformat
from .ids import IdFactory
from .webhooks.subscriptions import EVENT_TYPES

if TYPE_CHECKING:
    from .runtime import Sandbox
    from .spec import Operation

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


class TriggerError(ValueError):
    """The trigger cannot run for this organization (the message says why)."""


def trigger(sandbox: Sandbox, org_id: str, event_type: str, *, base_url: str = "") -> dict[str, Any]:
    """Create the state behind ``event_type`` for ``org_id`` and deliver its webhooks."""
    if event_type not in STORIES:
        raise TriggerError(f"unknown event type '{event_type}'; one of: {', '.join(EVENT_TYPES)}")
    records: dict[str, list[str]] = {}
    with recording_events(sandbox) as emitted:
        STORIES[event_type](_Story(sandbox, org_id, base_url, records))
    return {"event": event_type, "organization_id": org_id, "records": records, "events": emitted}


def create_records(
    sandbox: Sandbox, org_id: str, kind: str, count: int, fields: dict[str, Any], *, base_url: str = ""
) -> dict[str, Any]:
    """Create ``count`` leads or claims through their API handlers; ``fields`` go into each body."""
    records: dict[str, list[str]] = {}
    story = _Story(sandbox, org_id, base_url, records)
    with recording_events(sandbox) as emitted:
        for _ in range(count):
            _create_one(story, kind, fields)
    return {"records": records, "events": emitted}


def _create_one(story: _Story, kind: str, fields: dict[str, Any]) -> None:
    if kind == "lead":
        first, last, email = story.person()
        made = story.call("create_lead", {"name": f"{first} {last}", "email": email, **fields})
    elif kind == "claim":
        made = story.call(
            "create_claim",
            {
                "loss_type": story.rng.choice(("water", "fire", "mold")),
                "source": _photo_source(story),
                **fields,
            },
        )
    else:
        raise TriggerError(f"cannot create '{kind}' records; one of: lead, claim")
    story.made(kind, made["id"])


# Which events a story emitted ------------------------------------------------------------------
# Events made at the same instant sort by id in the store, not by emission; the webhook service's
# ``emit`` is wrapped once so this thread can note, in order, what it emits while a story runs.

_capture = threading.local()


@contextmanager
def recording_events(sandbox: Sandbox) -> Iterator[list[dict[str, Any]]]:
    """Collect ``{id, type}`` of every event this thread emits inside the block, in order."""
    _wrap_emit(sandbox.webhooks)
    emitted: list[dict[str, Any]] = []
    stack = _capture.__dict__.setdefault("stack", [])
    stack.append(emitted)
    try:
        yield emitted
    finally:
        stack.pop()


def _wrap_emit(service: Any) -> None:
    if getattr(service.emit, "records_events", False):
        return
    original = service.emit

    def emit(org_id: str, event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
        event = original(org_id, event_type, data)
        if event is not None:
            for collected in getattr(_capture, "stack", ()):
                collected.append({"id": event["id"], "type": event["type"]})
        return event

    emit.records_events = True  # type: ignore[attr-defined]
    service.emit = emit


class _StoryCall(Call):
    """A ``Call`` made by a story, which may run outside any HTTP request (a clock task, start-up)."""

    __slots__ = ("story_base_url",)
    story_base_url: str

    @property
    def base_url(self) -> str:
        return str(self.story_base_url)


class _Story:
    """What one trigger works with: the sandbox, the organization, and what it made."""

    def __init__(self, sandbox: Sandbox, org_id: str, base_url: str, records: dict[str, list[str]]) -> None:
        self.sandbox, self.org_id, self.base_url, self.records = sandbox, org_id, base_url, records
        serial = sum(len(ids) for ids in records.values()) + sandbox.store.count("event", org_id)
        self.rng = sandbox.rng("trigger", org_id, serial)

    def made(self, kind: str, record_id: str) -> None:
        self.records.setdefault(kind, []).append(record_id)

    def request(self, operation_id: str, body: Any = None, path: dict[str, Any] | None = None) -> Call:
        """A request as the organization's write key would make it, body checked against the spec."""
        operation, validator = _operation(operation_id)
        validator.check_body(body)
        request = _StoryCall(
            operation,
            self.sandbox,
            path or {},
            {},
            body,
            _write_key(self.sandbox, self.org_id),
            self.sandbox.ids.prefixed("corr"),
        )
        request.story_base_url = self.base_url
        return request

    def call(self, operation_id: str, body: Any = None, path: dict[str, Any] | None = None) -> Any:
        """Run an API handler on such a request; return its body."""
        from .routing import find_handler

        request = self.request(operation_id, body, path)
        reply = find_handler(request.operation)(request)
        return getattr(reply, "body", reply)

    def person(self) -> tuple[str, str, str]:
        from .world.pools import email_for

        first, last = _pools(self.sandbox.settings.SEED).person(self.rng)
        return first, last, email_for(self.rng, first, last)


# Calls ---------------------------------------------------------------------------------------


def _inbound_call(story: _Story, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """A call from the world's generator (first draw that fits ``wanted``), stored, received and
    classified."""
    from .world import calls as world_calls
    from .world.seeding import Location, Seeding

    sandbox, now = story.sandbox, story.sandbox.clock.now()
    organization = sandbox.store.get("organization", None, story.org_id) or {}
    area = organization.get("service_area") or {}
    location = Location(
        organization, {"cities": {area.get("city", "Atlanta"): area.get("postal_codes", [])}}, []
    )
    record: dict[str, Any] = {}
    for attempt in range(200):
        rng = random.Random(f"{story.rng.random()}|{attempt}")
        seeding = Seeding(rng, IdFactory(rng), _pools(sandbox.settings.SEED), now)
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
    sandbox.audit.record(
        story.org_id, "call.classified", {"call_id": record["id"], **classification}, source="worker"
    )
    sandbox.webhooks.emit(story.org_id, "call.classified", _call_detail(story, record))
    return record


def _call_detail(story: _Story, record: dict[str, Any]) -> dict[str, Any]:
    """The call as GET /calls/{id} shows it (what the call.* events carry)."""
    from .resources.calls import detail

    return detail(story.request("get_call", path={"id": record["id"]}), record)


def _unqualified_call(story: _Story) -> None:
    _inbound_call(story, lambda call: call["status"] == "completed" and not call["qualified"])


def _qualified_call(story: _Story) -> None:
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


def _lead_created(story: _Story) -> None:
    first, last, email = story.person()
    lead = story.call("create_lead", {"name": f"{first} {last}", "email": email})
    story.made("lead", lead["id"])


def _newest_lead(story: _Story, stage: str) -> dict[str, Any]:
    for lead in story.sandbox.store.scan("lead", story.org_id):
        if lead["pipeline_stage"] == stage and (stage != "won" or lead.get("email")):
            return lead
    raise TriggerError(f"this organization has no lead in stage '{stage}'")


def _lead_updated(story: _Story) -> None:
    try:
        lead = _newest_lead(story, "new")
    except TriggerError:
        _lead_created(story)
        lead = _newest_lead(story, "new")
    story.call("update_lead", {"pipeline_stage": "contacted"}, {"id": lead["id"]})
    story.made("lead", lead["id"])


def _email_sent(story: _Story) -> dict[str, Any]:
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
            "body": f"Hi {first}, thanks for reaching out. When is a good time for a free moisture "
            "assessment?",
        },
    )
    story.made("message", sent["message_id"])
    return {"message_id": sent["message_id"], "lead_id": lead["id"], "to": email}


def _email_replied(story: _Story) -> None:
    sent = _email_sent(story)
    sandbox, now = story.sandbox, isoformat(story.sandbox.clock.now())
    intent, text = story.rng.choice(REPLIES)
    sandbox.store.update(
        "message", story.org_id, sent["message_id"], {"status": "replied", "replied_at": now}
    )
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


def _claim_ready(story: _Story) -> None:
    from .resources.claims import complete_extraction

    loss_type = story.rng.choice(("water", "water", "fire", "mold"))
    claim = story.call(
        "create_claim",
        {
            "loss_type": loss_type,
            "source": _photo_source(story),
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


def _photo_source(story: _Story) -> dict[str, str]:
    """The CompanyCam project a claim's photos come from."""
    return {"vendor": "companycam", "project_id": f"cc_proj_{story.rng.randint(1000, 9999)}"}


def _review_requested(story: _Story) -> None:
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


def _review_received(story: _Story) -> None:
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


def _audited_action(story: _Story) -> None:
    first, last, email = story.person()
    entry = story.call(
        "create_suppression", {"channel": "email", "address": email, "reason": "manual_owner_request"}
    )
    story.made("suppression", entry["id"])


STORIES: dict[str, Callable[[_Story], Any]] = {
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


# Built once ----------------------------------------------------------------------------------


@cache
def _operation(operation_id: str) -> tuple[Operation, Any]:
    from .spec import load_spec, operations
    from .validation import RequestValidator

    spec = load_spec()
    operation = next(op for op in operations(spec) if op.id == operation_id)
    return operation, RequestValidator(operation, spec.get("components", {}))


@cache
def _pools(seed: int) -> Any:
    from .world import seeded_faker
    from .world.pools import Pools

    return Pools.draw(seeded_faker(seed))


def _write_key(sandbox: Sandbox, org_id: str) -> dict[str, Any]:
    for key in sandbox.keys:
        if key["organization_id"] == org_id and "write" in key["scopes"]:
            return dict(key)
    raise TriggerError(f"organization {org_id} has no key with the write scope")
