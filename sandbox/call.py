"""What a handler receives (``Call``) and may return (``Reply``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime import Sandbox
    from .spec import Operation


@dataclass(slots=True)
class Call:
    """One validated request: typed parameters, parsed body, the calling key."""

    operation: Operation
    sandbox: Sandbox
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    key: dict[str, Any] | None
    supplied_correlation_id: str | None = None  # the client's X-Correlation-Id, if any
    request_id: str = ""
    acting_org_id: str | None = None  # a child the parent reads for through a live grant (X-EAL-Organization)
    _generated_correlation_id: str | None = None

    @property
    def correlation_id(self) -> str:
        """The client's correlation id, else one made (deterministically) on first use."""
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
        """The organization whose records this call reads and writes."""
        if self.acting_org_id is not None:
            return self.acting_org_id
        assert self.key is not None, "operation without a key has no organization"
        return str(self.key["organization_id"])

    @property
    def base_url(self) -> str:
        """``scheme://host`` of this request, for URLs the sandbox itself serves."""
        from flask import request

        return request.host_url.rstrip("/")

    @property
    def key_id(self) -> str | None:
        return None if self.key is None else str(self.key["id"])


@dataclass(slots=True)
class Reply:
    """A handler's answer when the default (200, JSON) is not enough."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    mimetype: str = "application/json"
