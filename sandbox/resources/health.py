"""Service pulse and the calling identity."""

from __future__ import annotations

from typing import Any

from ..base.clock import isoformat
from .request import ApiRequest


def get_health(request: ApiRequest) -> dict[str, Any]:
    """Say the API is up; with a key, who is calling and what it may do."""
    health: dict[str, Any] = {"status": "ok", "version": "v1"}
    if request.key is not None:
        quota = request.sandbox.limits.peek(request.key)
        health.update(
            tenant_id=request.org_id,
            environment="test",
            scopes=list(request.key["scopes"]),
            rate_limit_remaining=quota.remaining,
        )
    health["timestamp"] = isoformat(request.sandbox.clock.now())
    return health
