"""Tenants: the calling organization, a parent's children, settings and grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..base.clock import isoformat, parse_iso
from ..base.errors import Forbidden, NotFound, ValidationFailed, field_error
from ..base.ids import TEST_PREFIX
from .delegation import live_grant
from .lookups import project
from .pagination import page_of
from .request import ApiRequest, Reply

INVITE_TTL = timedelta(days=7)
SANDBOX_KEY_ROLES = (("read-only", ["read"]), ("read-write", ["read", "write"]), ("admin", ["read", "write", "admin"]))
organization_view = project(("id", "name", "industry", "parent_organization_id", "settings", "created_at"))


def _organization(request: ApiRequest, org_id: str) -> dict[str, Any]:
    organization = request.sandbox.store.get("organization", None, org_id)
    if organization is None:
        raise NotFound(f"No organization with id '{org_id}'", details={"id": org_id})
    return organization


def _children(request: ApiRequest) -> list[dict[str, Any]]:
    return [
        org for org in request.sandbox.store.scan("organization") if org.get("parent_organization_id") == request.org_id
    ]


def get_my_organization(request: ApiRequest) -> dict[str, Any]:
    """The organization the calling key belongs to."""
    return organization_view(_organization(request, request.org_id))


def _require_parent(request: ApiRequest) -> None:
    me = _organization(request, request.org_id)
    if me.get("parent_organization_id") is not None:
        raise Forbidden(
            "Only a parent organization's admin key can manage child organizations",
            details={"organization_id": request.org_id},
        )


def list_organizations(request: ApiRequest) -> dict[str, Any]:
    """The parent's child organizations with the scopes each has granted it."""
    _require_parent(request)

    def with_grants(child: dict[str, Any]) -> dict[str, Any]:
        grant = live_grant(request.sandbox, child["id"], request.org_id)
        return {**organization_view(child), "grants": list(grant["scopes"]) if grant else []}

    return page_of(request, _children(request), view=with_grants)


def create_organization(request: ApiRequest) -> Reply:
    """Create a child tenant with an (inert) invite link and sandbox keys of its own."""
    _require_parent(request)
    sandbox, now = request.sandbox, request.sandbox.clock.now()
    sandbox.quotas.check_count(
        "organizations",
        sandbox.store.added("organization"),
        sandbox.settings.QUOTA_ORGANIZATIONS,
        "this sandbox created that many organizations; reset it or mint a new one",
    )
    body = request.body
    org_id = sandbox.ids.uuid()
    organization = {
        "id": org_id,
        "organization_id": org_id,
        "name": body["name"],
        "industry": body.get("industry", "restoration"),
        "parent_organization_id": request.org_id,
        "settings": {"timezone": "America/New_York", "default_locale": "en-US", **body.get("settings", {})},
        "primary_admin_email": body.get("primary_admin_email"),
        "created_at": isoformat(now),
        "updated_at": isoformat(now),
    }
    keys = [_issue_key(request, org_id, body["name"], label, scopes) for label, scopes in SANDBOX_KEY_ROLES]
    with sandbox.store.transaction():
        sandbox.store.insert("organization", organization)
        for key in keys:
            sandbox.store.insert("api_key", key)
            sandbox.keys.add(key)
        request.audit("organization.created", {"child_organization_id": org_id})
    return Reply(
        {
            "id": org_id,
            "name": organization["name"],
            "parent_organization_id": request.org_id,
            "invite_url": f"https://www.expertailabs.ai/invite/{sandbox.ids.prefixed('itok')}",
            "invite_expires_at": isoformat(now + INVITE_TTL),
            "created_at": organization["created_at"],
            "sandbox_keys": [{"token": k["token"], "scopes": k["scopes"]} for k in keys],
        },
        201,
    )


def _issue_key(request: ApiRequest, org_id: str, name: str, label: str, scopes: list[str]) -> dict[str, Any]:
    sandbox = request.sandbox
    ids = sandbox.ids
    # Reproducible ids (snapshot tests) draw tokens from the seed too; otherwise a token names its sandbox.
    token = TEST_PREFIX + ids.prefixed("k", 32)[2:] if sandbox.settings.REPRODUCIBLE_IDS else sandbox.keys.new_token()
    return {
        "id": "k" + ids.uuid()[1:],
        "organization_id": org_id,
        "token": token,
        "scopes": scopes,
        "label": f"{name} · {label}",
        "created_at": request.now_iso(),
    }


def _managed(request: ApiRequest, org_id: str) -> dict[str, Any]:
    """An organization the caller may administer: itself or one of its children."""
    organization = request.sandbox.store.get("organization", None, org_id)
    if organization is None or request.org_id not in (org_id, organization.get("parent_organization_id")):
        raise NotFound(f"No organization with id '{org_id}' that this key manages", details={"id": org_id})
    return organization


def update_organization(request: ApiRequest) -> dict[str, Any]:
    """Change the name and settings (timezone, locale, integration toggles)."""
    sandbox = request.sandbox
    with sandbox.store.transaction():
        current = _managed(request, request.path["id"])
        changes: dict[str, Any] = {}
        if "name" in request.body:
            changes["name"] = request.body["name"]
        if "settings" in request.body:
            changes["settings"] = _merge_settings(current["settings"], request.body["settings"])
        diff = {
            name: {"from": current.get(name), "to": value}
            for name, value in changes.items()
            if current.get(name) != value
        }
        updated = sandbox.store.update(
            "organization", None, current["id"], {**changes, "updated_at": request.now_iso()}
        )
        assert updated is not None
        if diff:
            sandbox.audit.record(
                current["id"],
                "organization.updated",
                {"organization_id": current["id"], "diff": diff},
                correlation_id=request.correlation_id,
                key_id=request.key_id,
            )
    return {
        "id": updated["id"],
        "name": updated["name"],
        "settings": updated["settings"],
        "updated_at": updated["updated_at"],
    }


def _merge_settings(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**current, **changes}
    if "integrations" in changes:
        merged["integrations"] = {**current.get("integrations", {}), **changes["integrations"]}
    return merged


def create_grant(request: ApiRequest) -> Reply:
    """A child grants its parent read scopes until ``expires_at`` (replacing any earlier grant)."""
    sandbox, body = request.sandbox, request.body
    child = _organization(request, request.path["id"]) if request.path["id"] == request.org_id else None
    if child is None:
        raise NotFound(
            f"No organization with id '{request.path['id']}' that this key manages", details={"id": request.path["id"]}
        )
    if body["parent_organization_id"] != child.get("parent_organization_id"):
        raise ValidationFailed(
            [field_error("body.parent_organization_id", "is not this organization's parent", "parent")]
        )
    if "expires_at" in body and parse_iso(body["expires_at"]) <= sandbox.clock.now():
        raise ValidationFailed([field_error("body.expires_at", "must be in the future", "future")])
    now = sandbox.clock.now()
    grant_id = sandbox.ids.uuid()
    grant = {
        "id": grant_id,
        "grant_id": grant_id,
        "organization_id": child["id"],
        "parent_organization_id": body["parent_organization_id"],
        "scopes": list(body["scopes"]),
        "created_at": isoformat(now),
        "expires_at": isoformat(parse_iso(body["expires_at"]) if "expires_at" in body else now + timedelta(days=365)),
    }
    with sandbox.store.transaction():
        for old in list(sandbox.store.scan("grant", child["id"])):
            sandbox.store.update("grant", child["id"], old["id"], {"expires_at": grant["created_at"]})
        sandbox.store.insert("grant", grant)
        request.audit("grant.created", {"grant_id": grant_id, "scopes": grant["scopes"]})
    return Reply(
        {name: grant[name] for name in ("grant_id", "parent_organization_id", "scopes", "created_at", "expires_at")},
        201,
    )
