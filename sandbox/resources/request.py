"""What a handler receives: ``ApiRequest``, one validated request to one operation.

A handler is ``def operation_id(request: ApiRequest) -> body | Reply``. It finds its sandbox's
services in ``request.sandbox`` and, for the few control operations that start work the layer above
runs (a scenario timeline, a trigger), the ``Orchestration`` in ``request.control``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from ..base.clock import isoformat
from ..base.reply import Reply
from ..base.spec import Operation
from ..services.bundle import SandboxServices
from ..services.scenarios import Run, Scenario

__all__ = ["ApiRequest", "Orchestration", "Reply"]


class Orchestration(Protocol):
    """What control handlers ask of the orchestration layer (``sandbox.operations``)."""

    def start_scenario(self, request: ApiRequest, scenario: Scenario) -> Run:
        """Put ``scenario`` in force for the caller's organization and play its timeline."""
        ...

    def trigger(self, request: ApiRequest, event_type: str) -> dict[str, Any]:
        """Make the state behind one webhook event for the caller's organization."""
        ...

    def create_sandbox(
        self,
        request: ApiRequest,
        *,
        seed: int | None,
        leads_per_org: int | None,
        ttl: timedelta,
        scenario: Scenario | None,
    ) -> SandboxServices:
        """Mint a new sandbox (and put ``scenario`` in force in it for every organization)."""
        ...

    def delete_sandbox(self, request: ApiRequest) -> None:
        """Forget the caller's sandbox: its keys, timers and deliveries."""
        ...


@dataclass(slots=True)
class ApiRequest:
    """One validated request: typed parameters, parsed body, the calling key, its sandbox."""

    operation: Operation
    sandbox: SandboxServices
    control: Orchestration
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    key: dict[str, Any] | None
    # scheme://host of this request, for URLs the sandbox itself serves; or what reads it on first use
    # (``base_url``): werkzeug's host_url is ~6% of a plain read's time, and few handlers need it.
    _base_url: str | Callable[[], str]
    supplied_correlation_id: str | None = None  # the client's X-Correlation-Id, if any
    acting_org_id: str | None = None  # a child the parent reads for through a live grant (X-EAL-Organization)
    _generated_correlation_id: str | None = None
    client_address: str = ""  # who sent it (what per-address limits count)
    headers: dict[str, Any] = field(default_factory=dict)  # the header parameters the operation declares, typed

    @property
    def base_url(self) -> str:
        """scheme://host of this request, for URLs the sandbox itself serves."""
        if not isinstance(self._base_url, str):
            self._base_url = self._base_url()
        return self._base_url

    @property
    def correlation_id(self) -> str:
        """The client's correlation id, else one made on first use."""
        if self.supplied_correlation_id:
            return self.supplied_correlation_id
        if self._generated_correlation_id is None:
            self._generated_correlation_id = self.sandbox.ids.prefixed("corr")
        return self._generated_correlation_id

    def correlation_id_if_any(self) -> str | None:
        """The correlation id without making one: reads that audit nothing need none."""
        return self.supplied_correlation_id or self._generated_correlation_id

    @property
    def org_id(self) -> str:
        """The organization whose records this request reads and writes."""
        if self.acting_org_id is not None:
            return self.acting_org_id
        assert self.key is not None, "operation without a key has no organization"
        return str(self.key["organization_id"])

    @property
    def key_id(self) -> str | None:
        return None if self.key is None else str(self.key["id"])

    def now_iso(self) -> str:
        """The sandbox clock's now, as the API writes timestamps."""
        return isoformat(self.sandbox.clock.now())

    def audit(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record an action this request made, with its key and correlation id."""
        return self.sandbox.audit.record(
            self.org_id, action, payload, correlation_id=self.correlation_id, key_id=self.key_id
        )
