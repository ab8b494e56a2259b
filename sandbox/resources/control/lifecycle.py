"""The sandbox's keys, and putting it back to its seed (tag ``sandbox-lifecycle``)."""

from __future__ import annotations

from typing import Any

from ...call import Call
from ...errors import Forbidden


def list_sandbox_keys(call: Call) -> dict[str, Any]:
    """Every seeded key with its organization and scopes (the sandbox has no secrets)."""
    organizations = {org["id"]: org for org in call.sandbox.store.scan("organization")}
    return {"data": [
        {"token": key["token"], "key_id": key["id"], "organization_id": key["organization_id"],
         "organization_name": organizations.get(key["organization_id"], {}).get("name"),
         "parent_organization_id": organizations.get(key["organization_id"], {}).get("parent_organization_id"),
         "scopes": list(key["scopes"]), "label": key.get("label")}
        for key in call.sandbox.keys
    ]}


def reset_sandbox(call: Call) -> dict[str, Any]:
    """Put the caller's organization, or the whole world, back to the seed."""
    scope = (call.body or {}).get("scope", "organization")
    if scope == "world":
        organization = call.sandbox.store.get("organization", None, call.org_id)
        if organization is None or organization.get("parent_organization_id") is not None:
            raise Forbidden(
                "Resetting the whole world takes the admin key of a top-level (network) organization: "
                "it resets every tenant. This key can reset its own organization (scope: organization)",
                details={"scope": "world", "organization_id": call.org_id})
    call.sandbox.reset(None if scope == "world" else call.org_id)
    return {"reset": scope, "organization_id": None if scope == "world" else call.org_id,
            "seed": call.sandbox.settings.SEED}
