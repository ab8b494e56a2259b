"""The request journal and per-operation coverage (tag ``sandbox-journal``)."""

from __future__ import annotations

from typing import Any

from ...call import Call


def list_journal(call: Call) -> dict[str, Any]:
    """The requests this organization's keys made, newest first, filtered."""
    from ...clock import parse_iso

    query, journal = call.query, call.sandbox.journal
    since = parse_iso(query["since"]) if "since" in query else None
    method = query.get("method")
    entries = journal.entries(call.org_id, since=since, limit=query.get("limit", 100),
                              method=method.upper() if method else None, path=query.get("path"),
                              status=query.get("status"), operation_id=query.get("operation_id"))
    return {"data": entries, "total": journal.count(call.org_id), "capacity": journal.capacity}


def clear_journal(call: Call) -> dict[str, Any]:
    """Forget this organization's journal and coverage."""
    return {"cleared": call.sandbox.journal.clear(call.org_id)}


def get_journal_coverage(call: Call) -> dict[str, Any]:
    """Per operation: the status codes this organization's requests got, and what was never called."""
    return call.sandbox.journal.coverage(call.org_id, _api_operations())


def _api_operations() -> tuple[Any, ...]:
    """The spec's /api/v1 operations (control operations are not part of coverage), read once."""
    from ...spec import load_spec, operations

    return tuple(operation for operation in operations(load_spec()) if not operation.is_control)
