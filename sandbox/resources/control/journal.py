"""The request journal and per-operation coverage (tag ``sandbox-journal``)."""

from __future__ import annotations

from typing import Any

from ...base.clock import parse_iso
from ...base.spec import load_spec
from ..request import ApiRequest


def list_journal(request: ApiRequest) -> dict[str, Any]:
    """The requests this organization's keys made, newest first, filtered."""
    query, journal = request.query, request.sandbox.journal
    since = parse_iso(query["since"]) if "since" in query else None
    method = query.get("method")
    entries = journal.entries(
        request.org_id,
        since=since,
        limit=query.get("limit", 100),
        method=method.upper() if method else None,
        path=query.get("path"),
        status=query.get("status"),
        operation_id=query.get("operation_id"),
    )
    return {"data": entries, "total": journal.count(request.org_id), "capacity": journal.capacity}


def clear_journal(request: ApiRequest) -> dict[str, Any]:
    """Forget this organization's journal and coverage."""
    return {"cleared": request.sandbox.journal.clear(request.org_id)}


def get_journal_coverage(request: ApiRequest) -> dict[str, Any]:
    """Per operation: the status codes this organization's requests got, and what was never called."""
    return request.sandbox.journal.coverage(request.org_id, load_spec().api_operations)
