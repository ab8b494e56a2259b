"""Make the state behind one webhook event, like ``stripe trigger`` (tag ``sandbox-triggers``)."""

from __future__ import annotations

from typing import Any

from ...call import Call, Reply


def trigger_event(call: Call) -> Reply:
    """Create the realistic state behind one webhook event and deliver what it emits."""
    from ...triggers import TriggerError, trigger

    result: dict[str, Any] = {"event": call.body["event"], "organization_id": call.org_id, "records": {},
                              "events": []}
    for _ in range(int(call.body.get("count", 1))):
        try:
            made = trigger(call.sandbox, call.org_id, call.body["event"], base_url=call.base_url)
        except TriggerError as error:
            from ...errors import Conflict

            raise Conflict(str(error), details={"event": call.body["event"]}) from None
        for kind, ids in made["records"].items():
            result["records"].setdefault(kind, []).extend(ids)
        result["events"] += made["events"]
    return Reply(result, 201)
