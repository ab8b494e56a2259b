"""The behaviour of the scenarios in force: latency and injected faults, per organization.

A scenario is put in force for one organization (started through the control API) or for every
organization (``serve --scenario``; keyed ``None``). Control operations (``/_sandbox/…``) are never
delayed or failed, so a partner can always read a scenario's status, advance the clock or stop it.
Rate limits of a scenario are counted by ``sandbox.services.limits.RequestLimits``, which asks
``window_for`` here.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from ...base.errors import ApiError, error_for_status
from ...base.spec import Operation
from ..limits import Window
from .loader import FaultRule, Scenario, matches


@dataclass
class _InForce:
    """A scenario's behaviour applied to one organization (or all), with its request counters."""

    scenario: Scenario
    seed: int
    counts: list[int] = field(default_factory=list)
    draws: list[random.Random] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.scenario.faults)
        self.draws = [random.Random(f"{rule.seed if rule.seed is not None else self.seed}|{index}")
                      for index, rule in enumerate(self.scenario.faults)]


class ScenarioBehaviour:
    """Which scenario is in force for whom, and what it does to a request before its handler."""

    def __init__(self, seed: int, *, max_latency_ms: int | None = None) -> None:
        self.seed, self.max_latency_ms = seed, max_latency_ms
        self._lock = threading.Lock()
        self._in_force: dict[str | None, _InForce] = {}  # None: every organization

    def apply(self, org_id: str | None, scenario: Scenario) -> None:
        """Put ``scenario``'s behaviour in force for ``org_id`` (None: every organization)."""
        with self._lock:
            self._in_force[org_id] = _InForce(scenario, self.seed)

    def remove(self, org_id: str | None) -> None:
        with self._lock:
            self._in_force.pop(org_id, None)

    def clear(self) -> None:
        with self._lock:
            self._in_force.clear()

    def active(self, org_id: str | None) -> Scenario | None:
        """The scenario in force for ``org_id``: its own, else the instance-wide one."""
        found = self._lookup(org_id)
        return None if found is None else found.scenario

    def window_for(self, org_id: str) -> tuple[str, Window] | None:
        """The in-force scenario's name and rate-limit window for ``org_id``, if it sets one."""
        if not self._in_force:
            return None
        scenario = self.active(org_id)
        if scenario is None or scenario.rate_limit is None:
            return None
        return scenario.name, Window(scenario.rate_limit.limit, scenario.rate_limit.window)

    def before_handler(self, operation: Operation, org_id: str | None) -> None:
        """Sleep the scenario's latency, then raise its fault if a rule fires for this request."""
        if not self._in_force or operation.is_control:
            return
        found = self._lookup(org_id)
        if found is None:
            return
        delay(found.scenario, operation, found.draws[0] if found.draws else random.Random(0), self.max_latency_ms)
        for index, rule in enumerate(found.scenario.faults):
            if not matches(rule.operations, operation.id):
                continue
            with self._lock:
                found.counts[index] += 1
                number = found.counts[index]
                fires = _fires(rule, number, found.draws[index])
            if fires:
                raise fault_error(rule, found.scenario.name, operation, number)

    def _lookup(self, org_id: str | None) -> _InForce | None:
        return self._in_force.get(org_id) or self._in_force.get(None)


def _fires(rule: FaultRule, number: int, draw: random.Random) -> bool:
    if rule.mode == "every":
        return number % int(rule.amount) == 0
    if rule.mode == "first":
        return number <= rule.amount
    return draw.random() < rule.amount


def delay(scenario: Scenario, operation: Operation, draw: random.Random, cap_ms: int | None = None) -> None:
    """Sleep as the first latency rule matching the operation says (never longer than ``cap_ms``)."""
    for rule in scenario.latency:
        if matches(rule.operations, operation.id):
            jitter = draw.randint(0, rule.jitter_ms) if rule.jitter_ms else 0
            milliseconds = rule.ms + jitter if cap_ms is None else min(rule.ms + jitter, cap_ms)
            time.sleep(milliseconds / 1000)
            return


def fault_error(rule: FaultRule, scenario: str, operation: Operation, number: int) -> ApiError:
    """The error a fault rule injects, with ``Retry-After`` when the rule gives one."""
    message = rule.message or (f"Injected by scenario '{scenario}': {operation.id} answers "
                               f"{rule.status} (request {number} matching this rule)")
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after else {}
    details: dict[str, object] = {"scenario": scenario, "request_number": number}
    if rule.status == 429:
        details["retry_after_seconds"] = rule.retry_after
    elif rule.status == 403:
        details = {"required_scope": operation.scope, **details}
    return error_for_status(rule.status, message, details=details, headers=headers)
