"""The immutable audit log: every state-changing action, from the API or the sandbox itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..base.clock import Clock, isoformat
from ..base.ids import IdFactory
from ..base.store import Store

SOURCES = ("api", "cron", "n8n", "worker", "system")
Emit = Callable[[str, str, dict[str, Any]], object]


class AuditLog:
    """Writes audit events and streams each one as an ``audit.log.event`` webhook."""

    def __init__(self, store: Store, clock: Clock, ids: IdFactory, emit: Emit) -> None:
        self.store, self.clock, self.ids, self._emit = store, clock, ids, emit

    def record(
        self,
        org_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        source: str = "api",
        correlation_id: str | None = None,
        key_id: str | None = None,
    ) -> dict[str, Any]:
        """Store one audit event (never changed afterwards) and emit its webhook."""
        event = {
            "id": self.ids.uuid(),
            "organization_id": org_id,
            "action": action,
            "source": source,
            "correlation_id": correlation_id or self.ids.prefixed("corr"),
            "payload": {**payload, "key_id": key_id} if key_id else dict(payload),
            "created_at": isoformat(self.clock.now()),
        }
        self.store.insert("audit_event", event)
        self._emit(org_id, "audit.log.event", event)
        return event
