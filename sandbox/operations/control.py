"""The orchestration the control plane asks for: minting and deleting sandboxes, starting a scenario,
running a trigger.

``ControlPlane`` is the ``Orchestration`` every ``ApiRequest`` carries (``request.control``): control
handlers live below this layer, so they reach the scenario runner and the triggers through it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from ..base.errors import Conflict
from ..resources.request import ApiRequest
from ..services.bundle import SandboxServices
from ..services.scenarios import Run, Scenario
from .registry import OperationRegistry
from .scenario_runner import ScenarioRunner
from .triggers import TriggerError, trigger


class SandboxLifecycle(Protocol):
    """Where sandboxes are made and forgotten (the composition layer's directory)."""

    def create(
        self,
        *,
        seed: int | None = None,
        leads_per_org: int | None = None,
        ttl: timedelta | None = None,
        seeded_tokens: bool = False,
        client_address: str | None = None,
    ) -> SandboxServices: ...

    def delete(self, sandbox: SandboxServices) -> None: ...


class ControlPlane:
    """Sandboxes, scenario runs and triggers for the requests of any sandbox of the process."""

    def __init__(self, registry: OperationRegistry, sandboxes: SandboxLifecycle) -> None:
        self.registry, self.sandboxes = registry, sandboxes
        self.scenarios = ScenarioRunner(registry, self)

    def create_sandbox(
        self,
        request: ApiRequest,
        *,
        seed: int | None,
        leads_per_org: int | None,
        ttl: timedelta,
        scenario: Scenario | None,
    ) -> SandboxServices:
        if scenario is not None:
            request.sandbox.quotas.check_scenario(scenario)  # every sandbox of the server has the same quotas
        sandbox = self.sandboxes.create(
            seed=seed, leads_per_org=leads_per_org, ttl=ttl, client_address=request.client_address or None
        )
        if scenario is not None:
            self.scenarios.start(sandbox, scenario, None, base_url=request.base_url)
        return sandbox

    def delete_sandbox(self, request: ApiRequest) -> None:
        self.sandboxes.delete(request.sandbox)

    def start_scenario(self, request: ApiRequest, scenario: Scenario) -> Run:
        request.sandbox.quotas.check_scenario(scenario)
        return self.scenarios.start(request.sandbox, scenario, request.org_id, base_url=request.base_url)

    def trigger(self, request: ApiRequest, event_type: str) -> dict[str, Any]:
        try:
            return trigger(self.registry, self, request.sandbox, request.org_id, event_type, base_url=request.base_url)
        except TriggerError as error:
            raise Conflict(str(error), details={"event": event_type}) from None
