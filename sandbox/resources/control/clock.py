"""The virtual clock: read it, advance it (tag ``sandbox-clock``)."""

from __future__ import annotations

from typing import Any

from ...base.clock import isoformat
from ...base.durations import parse_duration
from ...base.errors import ValidationFailed, field_error
from ..request import ApiRequest


def _clock_state(request: ApiRequest, fired: int | None = None) -> dict[str, Any]:
    clock = request.sandbox.clock
    state = {"now": isoformat(clock.now()), "virtual": clock.is_virtual, "pending_tasks": clock.pending()}
    if fired is not None:
        state["fired"] = fired
    return state


def get_clock(request: ApiRequest) -> dict[str, Any]:
    """The sandbox clock's current instant."""
    return _clock_state(request)


def advance_clock(request: ApiRequest) -> dict[str, Any]:
    """Move the clock forward, firing everything due on the way, in order."""
    try:
        fired = request.sandbox.clock.advance(parse_duration(request.body["by"]))
    except ValueError as error:  # past the clock's horizon
        raise ValidationFailed([field_error("body.by", str(error), "horizon")]) from None
    return _clock_state(request, fired=len(fired))
