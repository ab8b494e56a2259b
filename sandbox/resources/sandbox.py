"""Sandbox-only control endpoints (outside /api/v1): keys, reset, clock, replay, signed files."""

from __future__ import annotations

from typing import Any

from .. import signed_urls
from ..call import Call, Reply
from ..clock import isoformat
from ..durations import parse_duration
from ..errors import Forbidden, NotFound
from ..pagination import list_page


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


def _clock_state(call: Call, fired: int | None = None) -> dict[str, Any]:
    clock = call.sandbox.clock
    state = {"now": isoformat(clock.now()), "virtual": clock.is_virtual, "pending_tasks": clock.pending()}
    if fired is not None:
        state["fired"] = fired
    return state


def get_clock(call: Call) -> dict[str, Any]:
    """The sandbox clock's current instant."""
    return _clock_state(call)


def advance_clock(call: Call) -> dict[str, Any]:
    """Move the clock forward, firing everything due on the way, in order."""
    fired = call.sandbox.clock.advance(parse_duration(call.body["by"]))
    return _clock_state(call, fired=len(fired))


def list_events(call: Call) -> dict[str, Any]:
    """The organization's emitted webhook events, newest first."""
    return list_page(call, "event", view=lambda event: {k: event[k] for k in
                                                         ("id", "type", "created_at", "organization_id", "data")})


def replay_event(call: Call) -> Reply:
    """Deliver a past event again (same event id, fresh timestamp and signature)."""
    webhook_id = (call.body or {}).get("webhook_id")
    deliveries = call.sandbox.webhooks.replay_event(call.org_id, call.path["event_id"], webhook_id)
    if deliveries is None:
        raise NotFound(f"No event with id '{call.path['event_id']}' in this organization")
    return Reply({"event_id": call.path["event_id"], "deliveries_scheduled": deliveries}, 202)


def replay_delivery(call: Call) -> Reply:
    """Deliver a past delivery's event again to its subscription."""
    deliveries = call.sandbox.webhooks.replay_delivery(call.org_id, call.path["delivery_id"])
    if deliveries is None:
        raise NotFound(f"No delivery with id '{call.path['delivery_id']}' in this organization")
    return Reply({"delivery_id": call.path["delivery_id"], "deliveries_scheduled": deliveries}, 202)


def get_recording(call: Call) -> Reply:
    """A call recording behind a signed, expiring URL."""
    audio, mimetype = signed_urls.serve_recording(call.sandbox, call.path["call_id"],
                                                  call.query.get("exp"), call.query.get("sig"))
    return Reply(audio, 200, mimetype=mimetype)


def get_claim_summary_txt(call: Call) -> Reply:
    """A claim's plain-text summary behind a signed URL."""
    return _claim_summary(call, "txt")


def get_claim_summary_pdf(call: Call) -> Reply:
    """A claim's PDF summary behind a signed URL."""
    return _claim_summary(call, "pdf")


def _claim_summary(call: Call, fmt: str) -> Reply:
    content, mimetype = signed_urls.serve_claim_summary(call.sandbox, call.path["claim_id"], fmt,
                                                        call.query.get("exp"), call.query.get("sig"))
    return Reply(content, 200, mimetype=mimetype)


# Scenarios, triggers and the request journal (issue 5) -----------------------------------------

from functools import cache  # noqa: E402  (kept with the functions below, appended to this module)


def _runner(call: Call) -> Any:
    from ..scenarios import attach

    return attach(call.sandbox)


def _scenario_summary(scenario: Any) -> dict[str, Any]:
    limit = scenario.rate_limit
    return {"name": scenario.name, "description": scenario.description,
            "rate_limit": None if limit is None else {"limit": limit.limit, "window_seconds": limit.window},
            "latency_rules": len(scenario.latency), "fault_rules": len(scenario.faults),
            "steps": len(scenario.timeline)}


def list_scenarios(call: Call) -> dict[str, Any]:
    """The shipped scenarios, and which one is in force for the caller's organization."""
    from ..scenarios import ScenarioError, available, load

    running = _runner(call).status(call.org_id)
    data = []
    for name in available():
        try:
            entry = _scenario_summary(load(name))
        except ScenarioError as error:
            entry = {"name": name, "description": f"invalid: {error.problems[0]}", "rate_limit": None,
                     "latency_rules": 0, "fault_rules": 0, "steps": 0}
        data.append({**entry, "active": running is not None and running.scenario.name == name})
    return {"data": data}


def get_active_scenario(call: Call) -> dict[str, Any]:
    """The scenario in force for the caller's organization, with its timeline so far."""
    run = _runner(call).status(call.org_id)
    return {"running": run is not None, "run": None if run is None else run.view()}


def start_scenario(call: Call) -> Reply:
    """Put a shipped (``name``) or inline (``scenario``) scenario in force for the caller's organization."""
    from ..errors import ValidationFailed, field_error
    from ..scenarios import ScenarioError, from_mapping, load

    body = call.body
    try:
        if "scenario" in body:
            scenario = from_mapping(body["scenario"], "body.scenario")
        else:
            scenario = load(body["name"])
    except ScenarioError as error:
        if "scenario" not in body and not error.problems[0].location and "no shipped" in error.problems[0].message:
            raise NotFound(f"No scenario named '{body['name']}': {error.problems[0].message}",
                           details={"name": body["name"]}) from None
        prefix = "body.scenario" if "scenario" in body else f"scenarios/{body['name']}.yaml"
        raise ValidationFailed([field_error(f"{prefix}.{problem.location}".rstrip("."), problem.message, "scenario")
                                for problem in error.problems]) from None
    run = _runner(call).start(scenario, call.org_id, base_url=call.base_url)
    call.sandbox.audit.from_call(call, "sandbox.scenario_started", {"scenario": scenario.name})
    return Reply(run.view(), 201)


def stop_scenario(call: Call) -> dict[str, Any]:
    """Take the caller's organization's scenario out of force; its records stay."""
    run = _runner(call).stop(call.org_id)
    return {"stopped": run is not None, "run": None if run is None else run.view()}


def trigger_event(call: Call) -> Reply:
    """Create the realistic state behind one webhook event and deliver what it emits."""
    from ..triggers import TriggerError, trigger

    result: dict[str, Any] = {"event": call.body["event"], "organization_id": call.org_id, "records": {},
                              "events": []}
    for _ in range(int(call.body.get("count", 1))):
        try:
            made = trigger(call.sandbox, call.org_id, call.body["event"], base_url=call.base_url)
        except TriggerError as error:
            from ..errors import Conflict

            raise Conflict(str(error), details={"event": call.body["event"]}) from None
        for kind, ids in made["records"].items():
            result["records"].setdefault(kind, []).extend(ids)
        result["events"] += made["events"]
    return Reply(result, 201)


def list_journal(call: Call) -> dict[str, Any]:
    """The requests this organization's keys made, newest first, filtered."""
    from ..clock import parse_iso

    query, journal = call.query, call.sandbox.journal
    since = parse_iso(query["since"]) if "since" in query else None
    method = query.get("method")
    entries = journal.entries(call.org_id, since=since, limit=query.get("limit", 100),
                              method=method.upper() if method else None, path=query.get("path"),
                              status=query.get("status"), operation_id=query.get("operation_id"))
    return {"data": entries, "total": journal.count(call.org_id), "capacity": journal.capacity}


def clear_journal(call: Call) -> dict[str, Any]:
    """Forget this organization's journal and coverage."""
    return {"cleared": call.sandbox.journal.clear(call.org_id)}


def get_journal_coverage(call: Call) -> dict[str, Any]:
    """Per operation: the status codes this organization's requests got, and what was never called."""
    return call.sandbox.journal.coverage(call.org_id, _api_operations())


@cache
def _api_operations() -> tuple[Any, ...]:
    """The spec's /api/v1 operations (control operations are not part of coverage), read once."""
    from ..spec import load_spec, operations

    return tuple(operation for operation in operations(load_spec()) if operation.tag != "sandbox")
