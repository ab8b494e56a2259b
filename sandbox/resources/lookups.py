"""Small pieces every resource module uses: lookups, projections and time filters."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from ..base.clock import isoformat, parse_iso
from ..base.errors import NotFound
from ..base.store import Predicate, Record
from .request import ApiRequest

SHARED_VIEWS_MAX = 50_000  # per projection; past it the views are simply made again


def find(request: ApiRequest, kind: str, record_id: str, label: str | None = None) -> Record:
    """The caller's record, or 404 — also for another tenant's id, never a 403."""
    record = request.sandbox.store.get(kind, request.org_id, record_id)
    if record is None:
        raise NotFound(f"No {label or kind} with id '{record_id}' in this organization", details={"id": record_id})
    return record


def project(fields: Iterable[str], *, shared: bool = False) -> Callable[[Record], dict[str, Any]]:
    """A view that keeps ``fields`` (in that order), filling absent ones with None.

    With ``shared``, a record's view is made once and handed out again while the stored record is
    the same object: the store is copy-on-write, so a changed record is a new object and gets a
    fresh view. List pages use this, and callers must treat shared views as read-only.
    """
    names = tuple(fields)
    pick = operator.itemgetter(*names)

    def view(record: Record) -> dict[str, Any]:
        try:  # the common case, every field present: itemgetter runs in C
            return dict(zip(names, pick(record), strict=True))
        except KeyError:
            return {name: record.get(name) for name in names}

    if not shared:
        return view
    made: dict[int, tuple[Record, dict[str, Any]]] = {}

    def shared_view(record: Record) -> dict[str, Any]:
        hit = made.get(id(record))
        if hit is not None and hit[0] is record:  # holding the record keeps its id from being reused
            return hit[1]
        if len(made) >= SHARED_VIEWS_MAX:
            made.clear()
        result = made[id(record)] = (record, view(record))
        return result[1]

    return shared_view


def public(record: Record) -> dict[str, Any]:
    """The record without internal ``_`` fields."""
    return {name: value for name, value in record.items() if not name.startswith("_")}


def matching(request: ApiRequest, fields: Iterable[str], *, time_field: str = "created_at") -> Predicate | None:
    """A predicate for equality filters on ``fields`` plus ``start_at``/``end_at`` on ``time_field``."""
    wanted = {name: request.query[name] for name in fields if name in request.query}
    start = isoformat(parse_iso(request.query["start_at"])) if "start_at" in request.query else None
    end = isoformat(parse_iso(request.query["end_at"])) if "end_at" in request.query else None
    if not wanted and start is None and end is None:
        return None

    def predicate(record: Record) -> bool:
        if any(record.get(name) != value for name, value in wanted.items()):
            return False
        stamp = record[time_field]
        return (start is None or stamp >= start) and (end is None or stamp <= end)

    return predicate
