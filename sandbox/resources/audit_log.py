"""The audit log: list and read events, and stream them as spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from .lookups import find, matching, project
from .pagination import list_page
from .request import ApiRequest, Reply

FIELDS = ("id", "organization_id", "action", "source", "correlation_id", "payload", "created_at")
CSV_COLUMNS = ("id", "organization_id", "action", "source", "correlation_id", "key_id", "payload", "created_at")
# A spreadsheet evaluates a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
view = project(FIELDS, shared=True)


def list_audit_events(request: ApiRequest) -> dict[str, Any]:
    """Page through the organization's audit events, newest first."""
    return list_page(request, "audit_event", where=matching(request, ("action", "source")), view=view)


def get_audit_event(request: ApiRequest) -> dict[str, Any]:
    """One audit event with its full payload; another tenant's id is a 404."""
    return view(find(request, "audit_event", request.path["id"], label="audit event"))


def export_audit_log_csv(request: ApiRequest) -> Reply:
    """Stream every matching event as CSV, newest first, one row at a time."""
    where = matching(request, ("action", "source"))
    events = request.sandbox.store.scan("audit_event", request.org_id)  # a snapshot taken now
    chosen = (event for event in events if where is None or where(event))
    return Reply(
        csv_rows(chosen),
        200,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-log.csv"},
    )


def csv_rows(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header line, then one escaped CSV line per event."""
    yield _line(CSV_COLUMNS)
    for event in events:
        yield _line(csv_cells(event))


def csv_cells(event: dict[str, Any]) -> list[str]:
    """One event's cells in ``CSV_COLUMNS`` order, payload as compact JSON."""
    payload = event.get("payload") or {}
    values = {
        **event,
        "key_id": payload.get("key_id"),
        "payload": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
    }
    return [defused("" if values.get(name) is None else str(values[name])) for name in CSV_COLUMNS]


def defused(cell: str) -> str:
    """Prefix an apostrophe so a spreadsheet shows the cell as text, never runs it."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def _line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()
