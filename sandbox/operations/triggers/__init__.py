"""``trigger``: make the realistic state behind one webhook event, like ``stripe trigger``.

Each event type has a small story. Records are made by the same code the API handlers run (a request
is built for the organization's write key, checked against the spec and passed to the one
``invoke()``), or by the world generators for what has no create endpoint (inbound calls). Every event
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

from typing import Any

from ...resources.request import Orchestration
from ...services.bundle import SandboxServices
from ...services.webhooks.subscriptions import EVENT_TYPES
from ..registry import OperationRegistry
from .stories import STORIES, photo_source
from .story import Story, TriggerError

__all__ = ["TriggerError", "create_records", "trigger"]


def trigger(
    registry: OperationRegistry,
    control: Orchestration,
    sandbox: SandboxServices,
    org_id: str,
    event_type: str,
    *,
    base_url: str = "",
) -> dict[str, Any]:
    """Create the state behind ``event_type`` for ``org_id`` and deliver its webhooks."""
    if event_type not in STORIES:
        raise TriggerError(f"unknown event type '{event_type}'; one of: {', '.join(EVENT_TYPES)}")
    records: dict[str, list[str]] = {}
    with sandbox.emitted.capture() as emitted:
        STORIES[event_type](Story(registry, control, sandbox, org_id, base_url, records))
    return {"event": event_type, "organization_id": org_id, "records": records, "events": emitted}


def create_records(
    registry: OperationRegistry,
    control: Orchestration,
    sandbox: SandboxServices,
    org_id: str,
    kind: str,
    count: int,
    fields: dict[str, Any],
    *,
    base_url: str = "",
) -> dict[str, Any]:
    """Create ``count`` leads or claims through their API handlers; ``fields`` go into each body."""
    records: dict[str, list[str]] = {}
    story = Story(registry, control, sandbox, org_id, base_url, records)
    with sandbox.emitted.capture() as emitted:
        for _ in range(count):
            _create_one(story, kind, fields)
    return {"records": records, "events": emitted}


def _create_one(story: Story, kind: str, fields: dict[str, Any]) -> None:
    if kind == "lead":
        first, last, email = story.person()
        made = story.call("create_lead", {"name": f"{first} {last}", "email": email, **fields})
    elif kind == "claim":
        loss_type = story.rng.choice(("water", "fire", "mold"))
        made = story.call("create_claim", {"loss_type": loss_type, "source": photo_source(story), **fields})
    else:
        raise TriggerError(f"cannot create '{kind}' records; one of: lead, claim")
    story.made(kind, made["id"])
