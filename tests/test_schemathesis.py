"""schemathesis against the sandbox: every operation in openapi.yaml, positive and negative data,
every response check schemathesis has for a single call, a bounded number of examples each.

Runs in-process through WSGI (no port), over both served documents: ``/openapi.json`` (the v1
API) and ``/_sandbox/openapi.json`` (the control plane). Each operation gets its own pytest item;
the world is put back to its seed after each one. The figures of the last run are written to
``tests/artifacts/schemathesis-summary.json``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from sandbox import create_app
from sandbox.base.spec import load_spec
from sandbox.web.app import sandbox_of

MAX_EXAMPLES = 20
SUMMARY = Path(__file__).parent / "artifacts" / "schemathesis-summary.json"
CONFIG = {
    "TESTING": True,
    "SEED": 7,
    "LEADS_PER_ORG": 15,
    "RATE_LIMIT": 10**9,
    "CLOCK_START": "2026-11-02T15:30:00Z",
    "CLOCK_FROZEN": True,
    "STREAM_LIFETIME": 0.05,
}  # each generated call to the event stream ends (after its first messages)
# Operations a child location's admin key may not call: they act on the franchise network.
PARENT_OPERATIONS = {"list_organizations", "create_organization"}
# Documented 400s that no schema can express, by operation: (field location prefix, rule). A
# schema-valid request may meet them; any other 400 on schema-valid data is still a failure.
SEMANTIC_CHECKS = {
    # the SSRF guard: the webhook URL's host must resolve, and only to public addresses
    "create_webhook": ("body.url", "endpoint"),
    # an inline scenario is checked by the scenario loader (operation globs must match, one
    # fault mode per rule, …), as the operation's description says
    "start_scenario": ("body.scenario", "scenario"),
    # a sandbox's ttl is a duration from 1m to 7d: its pattern says "a duration", not the bounds
    "create_sandbox": ("body.ttl", "range"),
}

APP = create_app(CONFIG)
SANDBOX = sandbox_of(APP)
RAN: Counter[str] = Counter()


def served_schema(path: str) -> Any:
    loaded = schemathesis.openapi.from_wsgi(path, APP)
    # Unknown query parameters are ignored (as OpenAPI allows), so they are not negative data here.
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        database="none",
        allow_extra_parameters=False,
    )
    return loaded


schema = served_schema("/openapi.json")
control_schema = served_schema("/_sandbox/openapi.json")
HYPOTHESIS_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def admin_tokens() -> dict[str, str]:
    """The admin key of the first child location and of the parent network."""
    world = SANDBOX.world
    tokens = {}
    for key in world.keys:
        if "admin" not in key["scopes"]:
            continue
        if key["organization_id"] == world.child_org_ids[0]:
            tokens["child"] = key["token"]
        elif key["organization_id"] == world.parent_org_id:
            tokens["parent"] = key["token"]
    return tokens


TOKENS = admin_tokens()


def operation_id(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId"))


def authorization(case: Any) -> dict[str, str]:
    """The admin key that may call this operation (a parent's for network-wide ones)."""
    role = "parent" if operation_id(case) in PARENT_OPERATIONS else "child"
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def issued_cursor() -> str:
    """A cursor the sandbox itself issued: cursors are positions, valid on every list."""
    headers = {"Authorization": f"Bearer {TOKENS['child']}"}
    page = APP.test_client().get("/api/v1/leads?limit=1", headers=headers)
    return str(page.get_json()["next_cursor"])


CURSOR = issued_cursor()


def is_positive(case: Any) -> bool:
    return bool(case.meta and case.meta.generation.mode is GenerationMode.POSITIVE)


def give_real_cursor(case: Any) -> None:
    """A schema-valid cursor the server never issued is a documented 400 (``invalid_cursor``):
    no schema can say which strings are positions, so positive cases get a real one."""
    if is_positive(case) and case.query and "cursor" in case.query:
        case.query["cursor"] = CURSOR


def only_semantic_problems(case: Any, response: Any) -> bool:
    """A 400 whose every field problem is the operation's documented semantic check."""
    if response.status_code != 400:
        return False
    location, rule = SEMANTIC_CHECKS[operation_id(case)]
    fields = (response.json().get("error", {}).get("details") or {}).get("fields") or [{}]
    return all(str(f.get("location", "")).startswith(location) and f.get("rule") == rule for f in fields)


@pytest.fixture(autouse=True)
def seeded_world() -> Iterator[None]:
    yield
    SANDBOX.webhooks.settle(None, 5)
    SANDBOX.reset()


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    yield
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(
        json.dumps(
            {"operations": len(RAN), "examples": sum(RAN.values()), "per_operation": dict(sorted(RAN.items()))},
            indent=2,
        )
    )
    SANDBOX.close()


def conforms(case: Any) -> None:
    RAN[case.operation.label] += 1
    give_real_cursor(case)
    if operation_id(case) in SEMANTIC_CHECKS and is_positive(case):
        # positive_data_acceptance, narrowed: only the documented semantic 400 is let through
        response = case.call_and_validate(headers=authorization(case), excluded_checks=[positive_data_acceptance])
        assert response.status_code != 400 or only_semantic_problems(case, response), (
            f"schema-valid request rejected: {response.text}"
        )
        return
    case.call_and_validate(headers=authorization(case))


@schema.parametrize()
@HYPOTHESIS_SETTINGS
def test_operation_conforms_to_the_spec(case: Any) -> None:
    conforms(case)


@control_schema.parametrize()
@HYPOTHESIS_SETTINGS
def test_control_operation_conforms_to_the_spec(case: Any) -> None:
    conforms(case)


def test_every_operation_was_exercised() -> None:
    if not RAN:
        pytest.skip("the conformance run was deselected")
    if os.environ.get("PYTEST_XDIST_WORKER"):  # RAN is this process's: xdist spreads the cases over workers
        pytest.skip("under pytest-xdist each worker ran only some operations; a serial run (CI) checks them all")
    in_spec = {result.ok().label for loaded in (schema, control_schema) for result in loaded.get_all_operations()}
    assert len(in_spec) == len(load_spec().operations)
    assert set(RAN) == in_spec
    assert min(RAN.values()) >= 1
