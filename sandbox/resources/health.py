"""Service pulse and the calling identity."""

from __future__ import annotations

from typing import Any

from ..call import Call
from ..clock import isoformat


def get_health(call: Call) -> dict[str, Any]:
    """Say the API is up; with a key, who is calling and what it may do."""
    health: dict[str, Any] = {"status": "ok", "version": "v1"}
    if call.key is not None:
        quota = call.sandbox.limiter.peek(call.key["id"])
        health.update(
            tenant_id=call.org_id,
            environment="test",
            scopes=list(call.key["scopes"]),
            rate_limit_remaining=quota.remaining,
        )
    health["timestamp"] = isoformat(call.sandbox.clock.now())
    return health
