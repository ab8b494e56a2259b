"""A parent reading a child's data through a live grant (the ``X-EAL-Organization`` header).

A child organization grants its parent read scopes (``leads.read``, ``calls.read``,
``audit_log.read``) with POST /organizations/{id}/grants. While that grant is live, the parent's
keys may name the child in ``X-EAL-Organization`` on the read operations whose ``x-grant-scope``
the grant covers, and the request then reads the child's records. Writes never act for another
organization.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base.clock import isoformat
from ..base.errors import Forbidden, NotFound, ValidationFailed, field_error
from ..base.spec import Operation
from ..services.bundle import SandboxServices

HEADER = "X-EAL-Organization"


def live_grant(sandbox: SandboxServices, child_id: str, parent_id: str) -> dict[str, Any] | None:
    """The child's unexpired grant to its parent, if any."""
    now = isoformat(sandbox.clock.now())
    for grant in sandbox.store.scan("grant", child_id):
        if grant["parent_organization_id"] == parent_id and grant["expires_at"] > now:
            return grant
    return None


def acting_organization(
    sandbox: SandboxServices, operation: Operation, key: Mapping[str, Any] | None, requested: str | None
) -> str | None:
    """The child organization this request reads for (the ``X-EAL-Organization`` value), or None to
    act as the key's own."""
    if requested is None:
        return None
    if operation.grant_scope is None or key is None:  # grant-scoped reads always need a key
        raise ValidationFailed(
            [
                field_error(
                    f"header.{HEADER}",
                    f"is accepted only on read operations a grant can cover (leads, calls, audit log reads), "
                    f"not on {operation.id}: writes always act on the key's own organization",
                    "not_applicable",
                )
            ]
        )
    requested = requested.lower()  # a UUID in any case names the same organization
    own = str(key["organization_id"])
    if requested == own:
        return None
    child = sandbox.store.get("organization", None, requested)
    if child is None or child.get("parent_organization_id") != own:
        raise NotFound(
            f"No child organization with id '{requested}' under this key's organization",
            details={"header": HEADER, "id": requested},
        )
    grant = live_grant(sandbox, requested, own)
    if grant is None or operation.grant_scope not in grant["scopes"]:
        held = f"its live grant covers only {', '.join(grant['scopes'])}" if grant else "it has no live grant"
        raise Forbidden(
            f"Organization '{child['name']}' has not granted '{operation.grant_scope}' to your organization "
            f"({held}); the child grants it with POST /api/v1/organizations/{requested}/grants",
            code="grant_required",
            details={
                "organization_id": requested,
                "required_grant_scope": operation.grant_scope,
                "granted_scopes": list(grant["scopes"]) if grant else [],
            },
        )
    return requested
