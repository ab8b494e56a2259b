"""Make the state behind one webhook event, like ``stripe trigger`` (tag ``sandbox-triggers``)."""

from __future__ import annotations

from typing import Any

from ..request import ApiRequest, Reply


def trigger_event(request: ApiRequest) -> Reply:
    """Create the realistic state behind one webhook event (``count`` times) and deliver what it emits."""
    event = request.body["event"]
    result: dict[str, Any] = {"event": event, "organization_id": request.org_id, "records": {}, "events": []}
    for _ in range(int(request.body.get("count", 1))):
        made = request.control.trigger(request, event)
        for kind, ids in made["records"].items():
            result["records"].setdefault(kind, []).extend(ids)
        result["events"] += made["events"]
    return Reply(result, 201)
