"""The virtual clock: read it, advance it (tag ``sandbox-clock``)."""

from __future__ import annotations

from typing import Any

from ...call import Call
from ...clock import isoformat
from ...durations import parse_duration


def _clock_state(call: Call, fired: int | None = None) -> dict[str, Any]:
    clock = call.sandbox.clock
    state = {"now": isoformat(clock.now()), "virtual": clock.is_virtual, "pending_tasks": clock.pending()}
    if fired is not None:
        state["fired"] = fired
    return state


def get_clock(call: Call) -> dict[str, Any]:
    """The sandbox clock's current instant."""
    return _clock_state(call)


def advance_clock(call: Call) -> dict[str, Any]:
    """Move the clock forward, firing everything due on the way, in order."""
    fired = call.sandbox.clock.advance(parse_duration(call.body["by"]))
    return _clock_state(call, fired=len(fired))
