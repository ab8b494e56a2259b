"""Which events a piece of work emitted, in order: an observer of the webhook service.

Events made at the same instant sort by id in the store, not by emission, so a trigger that must
report (and a scenario that must replay) exactly what it emitted collects it here. Collection is
per execution context (``contextvars``), so concurrent requests never see each other's events.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_COLLECTING: ContextVar[tuple[list[dict[str, Any]], ...]] = ContextVar("eal_collecting_events", default=())


class EmittedEvents:
    """Notes ``{id, type}`` of every event emitted inside a ``capture()`` block."""

    def observe(self, event: dict[str, Any]) -> None:
        for collected in _COLLECTING.get():
            collected.append({"id": event["id"], "type": event["type"]})

    @contextmanager
    def capture(self) -> Iterator[list[dict[str, Any]]]:
        """Collect what this context emits inside the block, in order (blocks may nest)."""
        emitted: list[dict[str, Any]] = []
        token = _COLLECTING.set((*_COLLECTING.get(), emitted))
        try:
            yield emitted
        finally:
            _COLLECTING.reset(token)
