"""The sandbox's keys, and putting it back to its seed (tag ``sandbox-lifecycle``)."""

from __future__ import annotations

from typing import Any

from ...base.errors import Forbidden, NotFound
from ..request import ApiRequest
from .sandboxes import access_keys


def list_sandbox_keys(request: ApiRequest) -> dict[str, Any]:
    """The start-up sandbox's keys with their organizations and scopes (it guards nothing real);
    not served by a hosted server, where no sandbox's keys are public."""
    if request.sandbox.settings.HOSTED:
        raise NotFound(
            "No route for GET /_sandbox/keys on a hosted sandbox server: no keys are public here; "
            "mint a sandbox of your own with POST /_sandbox/sandboxes (its keys are in that answer)",
            details={"path": "/_sandbox/keys"},
        )
    return {"data": access_keys(request.sandbox, tokens=True)}


def reset_sandbox(request: ApiRequest) -> dict[str, Any]:
    """Put the caller's organization, or the whole world, back to the seed."""
    scope = (request.body or {}).get("scope", "organization")
    if scope == "world":
        organization = request.sandbox.store.get("organization", None, request.org_id)
        if organization is None or organization.get("parent_organization_id") is not None:
            raise Forbidden(
                "Resetting the whole world takes the admin key of a top-level (network) organization: "
                "it resets every tenant. This key can reset its own organization (scope: organization)",
                details={"scope": "world", "organization_id": request.org_id},
            )
    request.sandbox.reset(None if scope == "world" else request.org_id)
    return {
        "reset": scope,
        "organization_id": None if scope == "world" else request.org_id,
        "seed": request.sandbox.settings.SEED,
    }
