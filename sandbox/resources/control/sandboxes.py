"""Isolated sandboxes on demand: mint one, read the caller's, delete it (tag ``sandbox-sandboxes``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ...base.durations import parse_duration
from ...base.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from ...services.auth import KeyRing
from ...services.bundle import Lifetime, SandboxServices
from ...services.scenarios import ScenarioError, load
from ..request import ApiRequest, Reply

MIN_TTL, MAX_TTL = timedelta(minutes=1), timedelta(days=7)


def access_keys(sandbox: SandboxServices, *, tokens: bool) -> list[dict[str, Any]]:
    """The sandbox's keys, network first, each with its organization (and its token, if asked)."""
    organizations = {org["id"]: org for org in sandbox.store.scan("organization")}
    listed = []
    for key in sandbox.keys:
        organization = organizations.get(key["organization_id"], {})
        entry = {
            "key_id": key["id"],
            "organization_id": key["organization_id"],
            "organization_name": organization.get("name"),
            "parent_organization_id": organization.get("parent_organization_id"),
            "scopes": list(key["scopes"]),
            "label": key.get("label"),
        }
        listed.append({"token": key["token"], **entry} if tokens else entry)
    return listed


def _view(sandbox: SandboxServices, *, tokens: bool) -> dict[str, Any]:
    with sandbox.state.prefetched([*Lifetime.READS, *KeyRing.LIST_READS]):  # one round trip in a fleet
        return _viewed(sandbox, tokens=tokens)


def _viewed(sandbox: SandboxServices, *, tokens: bool) -> dict[str, Any]:
    return {
        "id": sandbox.id,
        "seed": sandbox.settings.SEED,
        "leads_per_org": sandbox.settings.LEADS_PER_ORG,
        **sandbox.lifetime.view(),
        "keys": access_keys(sandbox, tokens=tokens),
    }


def _ttl(body: dict[str, Any], default_seconds: int) -> timedelta:
    if "ttl" not in body:
        return timedelta(seconds=default_seconds)
    ttl = parse_duration(body["ttl"])
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise ValidationFailed([field_error("body.ttl", "must be between 1m and 7d", "range")])
    return ttl


def create_sandbox(request: ApiRequest) -> Reply:
    """Mint a sandbox of its own seed, size and lifetime; its keys' tokens are in this answer only."""
    body = request.body or {}
    scenario = None
    if "scenario" in body:
        try:
            scenario = load(body["scenario"])
        except ScenarioError as error:
            raise NotFound(
                f"No scenario named '{body['scenario']}': {error.problems[0].message}",
                details={"scenario": body["scenario"]},
            ) from None
    seed, size = body.get("seed"), body.get("leads_per_org")  # JSON may write 7 as 7.0: the schema allows it
    sandbox = request.control.create_sandbox(
        request,
        seed=None if seed is None else int(seed),
        leads_per_org=None if size is None else int(size),
        ttl=_ttl(body, request.sandbox.settings.SANDBOX_TTL),
        scenario=scenario,
    )
    return Reply(_view(sandbox, tokens=True), 201)


def get_current_sandbox(request: ApiRequest) -> dict[str, Any]:
    """The calling key's sandbox, its keys without tokens."""
    return _view(request.sandbox, tokens=False)


def delete_current_sandbox(request: ApiRequest) -> Reply:
    """Forget the calling key's sandbox (the network admin's key): its keys are 401 from now on."""
    sandbox = request.sandbox
    organization = sandbox.store.get("organization", None, request.org_id) or {}
    if organization.get("parent_organization_id") is not None or not sandbox.is_seeded(request.org_id):
        raise Forbidden(
            "Deleting a sandbox takes the admin key of its network (top-level) organization",
            details={"organization_id": request.org_id},
        )
    if sandbox.lifetime.ttl is None:
        raise Conflict(
            "The sandbox made at start-up cannot be deleted; reset it (POST /_sandbox/reset) instead",
            details={"sandbox": sandbox.id},
        )
    request.control.delete_sandbox(request)
    return Reply("", 204, mimetype="text/plain")
