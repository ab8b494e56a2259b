"""Opaque cursors: base64url-encoded JSON ``{"created_at", "id"}``, as the seeds show."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

import orjson

from ..base.clock import isoformat, parse_iso
from ..base.errors import InvalidCursor
from ..base.store import Position, Predicate, Record
from .request import ApiRequest


def encode_cursor(position: Position) -> str:
    raw = orjson.dumps({"created_at": position[0], "id": position[1]})  # compact, as json.dumps with separators
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names, or 400 ``invalid_cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        position = (data["created_at"], data["id"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise InvalidCursor(
            "query.cursor is not a cursor this API issued: pass next_cursor from the previous page unchanged",
            details={
                "fields": [{"location": "query.cursor", "message": "malformed or tampered cursor", "rule": "cursor"}]
            },
        ) from error
    if not (all(isinstance(part, str) and part for part in position) and _is_timestamp(position[0])):
        raise InvalidCursor(
            "query.cursor is not a cursor this API issued",
            details={
                "fields": [{"location": "query.cursor", "message": "malformed or tampered cursor", "rule": "cursor"}]
            },
        )
    return position


def _is_timestamp(text: str) -> bool:
    """True for a timestamp exactly as the API writes them (so a hand-made cursor can't jump)."""
    try:
        return isoformat(parse_iso(text)) == text
    except (ValueError, OverflowError):  # OverflowError: a date that leaves the calendar in UTC
        return False


def list_page(
    request: ApiRequest,
    kind: str,
    *,
    where: Predicate | None = None,
    view: Callable[[Record], dict[str, Any]] = dict,
    org_id: str | None = None,
) -> dict[str, Any]:
    """One page of ``kind`` for the caller's organization as ``{data, next_cursor}``."""
    cursor = request.query.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    records, next_position = request.sandbox.store.page(
        kind,
        org_id or request.org_id,
        where=where,
        after=after,
        limit=request.query.get("limit", 50),
    )
    return {
        "data": [view(record) for record in records],
        "next_cursor": encode_cursor(next_position) if next_position else None,
    }


def page_of(
    request: ApiRequest, records: list[Record], *, view: Callable[[Record], dict[str, Any]] = dict
) -> dict[str, Any]:
    """Page a small in-memory list with the same cursors and order as the store."""
    cursor = request.query.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    ordered = sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True)
    if after is not None:
        ordered = [r for r in ordered if (r["created_at"], r["id"]) < after]
    limit = request.query.get("limit", 50)
    chosen = ordered[:limit]
    more = len(ordered) > limit
    return {
        "data": [view(record) for record in chosen],
        "next_cursor": encode_cursor((chosen[-1]["created_at"], chosen[-1]["id"])) if more else None,
    }
