"""The orchestration the control plane asks for: starting a scenario, running a trigger.

``ControlPlane`` is the ``Orchestration`` every ``ApiRequest`` carries (``request.control``): control
handlers live below this layer, so they reach the scenario runner and the triggers through it.
"""

from __future__ import annotations

from typing import Any

from ..base.errors import Conflict
from ..resources.request import ApiRequest
from ..services.scenarios import Run, Scenario
from .registry import OperationRegistry
from .scenario_runner import ScenarioRunner
from .triggers import TriggerError, trigger


class ControlPlane:
    """Scenario runs and triggers for the requests of any sandbox of the process."""

    def __init__(self, registry: OperationRegistry) -> None:
        self.registry = registry
        self.scenarios = ScenarioRunner(registry, self)

    def start_scenario(self, request: ApiRequest, scenario: Scenario) -> Run:
        return self.scenarios.start(request.sandbox, scenario, request.org_id, base_url=request.base_url)

    def trigger(self, request: ApiRequest, event_type: str) -> dict[str, Any]:
        try:
            return trigger(self.registry, self, request.sandbox, request.org_id, event_type,
                           base_url=request.base_url)
        except TriggerError as error:
            raise Conflict(str(error), details={"event": event_type}) from None
