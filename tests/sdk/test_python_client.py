"""openapi-python-client, default settings, generates a typed client from the served /openapi.json
with no error and no warning; the generated client then works against a started sandbox.

The generator is pinned in the test extras (``pyproject.toml``). It formats its output with
ruff, which it finds on PATH: this venv's ``bin`` is put first.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sdk.conftest import VENV_BIN, Served, tool_env

GENERATOR = VENV_BIN / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """(the generated package, the generator's output) for the served v1 document."""
    if not GENERATOR.is_file():
        pytest.fail("openapi-python-client is missing: pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("python-client") / "client"
    result = subprocess.run(
        [str(GENERATOR), "generate", "--url", f"{served.base_url}/openapi.json", "--output-path", str(out)],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    package = next(p.name for p in out.iterdir() if (p / "client.py").is_file())
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(package), output
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def sdk(generated: tuple[Any, str]) -> Any:
    return generated[0]


def part(sdk: Any, dotted: str) -> Any:
    return importlib.import_module(f"{sdk.__name__}.{dotted}")


@pytest.fixture
def client(sdk: Any, served: Served) -> Iterator[Any]:
    with sdk.AuthenticatedClient(
        base_url=served.base_url, token=served.admin_key, raise_on_unexpected_status=True
    ) as authenticated:
        yield authenticated


def test_generation_has_no_warning(generated: tuple[Any, str]) -> None:
    output = generated[1]
    assert "warning" not in output.lower() and "error" not in output.lower(), output


def test_request_bodies_are_typed(sdk: Any) -> None:
    """create_lead takes a LeadCreate (not ``Any``): the "at least one of" rule kept its properties."""
    hints = part(sdk, "api.leads.create_lead").sync.__annotations__
    assert "LeadCreate" in str(hints["body"])
    assert "ScenarioRun" not in dir(part(sdk, "models"))  # the control plane is not in the v1 document


def test_health_and_a_paged_lead_list(sdk: Any, client: Any, served: Served) -> None:
    health = part(sdk, "api.health.get_health").sync(client=client)
    assert health.status == "ok" and health.tenant_id and "admin" in [str(s) for s in health.scopes]
    list_leads = part(sdk, "api.leads.list_leads")
    first = list_leads.sync(client=client, limit=3)
    assert len(first.data) == 3 and first.next_cursor
    second = list_leads.sync(client=client, limit=3, cursor=first.next_cursor)
    assert {lead.id for lead in first.data}.isdisjoint({lead.id for lead in second.data})


def test_create_patch_and_the_audit_log(sdk: Any, client: Any) -> None:
    models = part(sdk, "models")
    created = part(sdk, "api.leads.create_lead").sync(
        client=client,
        body=models.LeadCreate(name="Dana Whitfield", company="Whitfield Roofing", email="dana.whitfield@example.com"),
    )
    assert isinstance(created, models.LeadCreated) and created.email == "dana.whitfield@example.com"
    updated = part(sdk, "api.leads.update_lead").sync(
        id=created.id,
        client=client,
        body=models.LeadPatch(pipeline_stage=models.LeadPipelineStage.QUALIFIED, lead_score=82),
    )
    assert isinstance(updated, models.LeadUpdated) and updated.lead_score == 82
    read = part(sdk, "api.leads.get_lead").sync(id=created.id, client=client)
    assert read.pipeline_stage == models.LeadPipelineStage.QUALIFIED
    events = part(sdk, "api.audit_log.list_audit_events").sync(client=client, action="lead.updated", limit=20)
    entry = next(e for e in events.data if e.payload["lead_id"] == str(created.id))  # an open field
    assert entry.payload.diff["lead_score"].to_dict() == {"from": 0, "to": 82}  # declared ones are typed


def test_webhooks_create_list_and_deliveries(sdk: Any, client: Any) -> None:
    models = part(sdk, "models")
    created = part(sdk, "api.webhooks.create_webhook").sync(
        client=client,
        body=models.WebhookCreate(url="http://127.0.0.1:9/eal/webhooks", events=[models.WebhookEventName.LEAD_CREATED]),
    )
    assert created.signing_secret.startswith("whsec_")
    listed = part(sdk, "api.webhooks.list_webhooks").sync(client=client)
    assert created.id in {hook.id for hook in listed.data}
    deliveries = part(sdk, "api.webhooks.list_webhook_deliveries").sync(id=created.id, client=client)
    assert isinstance(deliveries, models.DeliveryList) and isinstance(deliveries.data, list)
    part(sdk, "api.webhooks.delete_webhook").sync(id=created.id, client=client)


def test_calls_and_claims(sdk: Any, client: Any) -> None:
    models = part(sdk, "models")
    call = part(sdk, "api.calls.list_calls").sync(client=client, limit=1).data[0]
    detail = part(sdk, "api.calls.get_call").sync(id=call.id, client=client)
    assert detail.id == call.id and detail.recording_url
    stats = part(sdk, "api.calls.get_call_stats").sync(client=client)
    assert stats.total_calls >= 1
    claims = part(sdk, "api.claims.list_claims").sync(client=client, limit=50).data
    ready = next(c for c in claims if c.status == models.ClaimStatus.READY_FOR_REVIEW)
    claim = part(sdk, "api.claims.get_claim").sync(id=ready.id, client=client)
    item = claim.rooms[0].scope_items[0]
    assert item.id.startswith("scope_")  # optional in the schema, always sent by the sandbox
    review = part(sdk, "api.claims.review_claim").sync(
        id=ready.id,
        client=client,
        body=models.ClaimReviewRequest(
            decisions=[models.ScopeDecision(scope_item_id=item.id, decision=models.ScopeDecisionDecision.APPROVE)]
        ),
    )
    assert review.decisions_recorded == 1
    created = part(sdk, "api.claims.create_claim").sync(
        client=client,
        body=models.ClaimCreate(
            loss_type=models.LossType.WATER,
            source=models.ClaimSource(vendor=models.ClaimSourceVendor.COMPANYCAM, project_id="cc_proj_5482"),
        ),
    )
    assert created.status == "extracting"


def test_an_error_answer_is_the_typed_envelope(sdk: Any, client: Any) -> None:
    response = part(sdk, "api.leads.create_lead").sync_detailed(client=client, body=part(sdk, "models").LeadCreate())
    assert response.status_code == 400
    problem = response.parsed.error.details.fields[0]
    assert (problem.location, problem.rule) == ("body", "any_of_required")


def test_the_generated_package_is_where_it_was_put(sdk: Any) -> None:
    assert Path(sdk.__file__).parent.name == sdk.__name__
