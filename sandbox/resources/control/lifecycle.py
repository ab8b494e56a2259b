"""The sandbox's keys, and putting it back to its seed (tag ``sandbox-lifecycle``)."""

from __future__ import annotations

from typing import Any

from ...base.errors import Forbidden
from ..request import ApiRequest


def list_sandbox_keys(request: ApiRequest) -> dict[str, Any]:
    """Every seeded key with its organization and scopes (the sandbox has no secrets)."""
    organizations = {org["id"]: org for org in request.sandbox.store.scan("organization")}
    return {"data": [
        {"token": key["token"], "key_id": key["id"], "organization_id": key["organization_id"],
         "organization_name": organizations.get(key["organization_id"], {}).get("name"),
         "parent_organization_id": organizations.get(key["organization_id"], {}).get("parent_organization_id"),
         "scopes": list(key["scopes"]), "label": key.get("label")}
        for key in request.sandbox.keys
    ]}


def reset_sandbox(request: ApiRequest) -> dict[str, Any]:
    """Put the caller's organization, or the whole world, back to the seed."""
    scope = (request.body or {}).get("scope", "organization")
    if scope == "world":
        organization = request.sandbox.store.get("organization", None, request.org_id)
        if organization is None or organization.get("parent_organization_id") is not None:
            raise Forbidden(
                "Resetting the whole world takes the admin key of a top-level (network) organization: "
                "it resets every tenant. This key can reset its own organization (scope: organization)",
                details={"scope": "world", "organization_id": request.org_id})
    request.sandbox.reset(None if scope == "world" else request.org_id)
    return {"reset": scope, "organization_id": None if scope == "world" else request.org_id,
            "seed": request.sandbox.settings.SEED}
