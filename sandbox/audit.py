"""The immutable audit log: every state-changing action, from the API or the sandbox itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clock import isoformat

if TYPE_CHECKING:
    from .call import Call
    from .runtime import Sandbox

SOURCES = ("api", "cron", "n8n", "worker", "system")


class AuditLog:
    """Writes audit events and streams each one as an ``audit.log.event`` webhook."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def record(self, org_id: str, action: str, payload: dict[str, Any], *, source: str = "api",
               correlation_id: str | None = None, key_id: str | None = None) -> dict[str, Any]:
        """Store one audit event (never changed afterwards) and emit its webhook."""
        sandbox = self.sandbox
        event = {
            "id": sandbox.ids.uuid(),
            "organization_id": org_id,
            "action": action,
            "source": source,
            "correlation_id": correlation_id or sandbox.ids.prefixed("corr"),
            "payload": {**payload, "key_id": key_id} if key_id else dict(payload),
            "created_at": isoformat(sandbox.clock.now()),
        }
        sandbox.store.insert("audit_event", event)
        sandbox.webhooks.emit(org_id, "audit.log.event", event)
        return event

    def from_call(self, call: Call, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record an action a request made, with its key and correlation id."""
        return self.record(call.org_id, action, payload, correlation_id=call.correlation_id,
                           key_id=call.key_id)
