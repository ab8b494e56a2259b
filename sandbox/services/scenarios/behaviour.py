"""The behaviour of the scenarios in force: latency and injected faults, per organization.

A scenario is put in force for one organization (started through the control API) or for every
organization (``serve --scenario``; keyed ``None``). Control operations (``/_sandbox/…``) are never
delayed or failed, so a partner can always read a scenario's status, advance the clock or stop it.
Rate limits of a scenario are counted by ``sandbox.services.limits.RequestLimits``, which asks
``window_for`` here.
"""

from __future__ import annotations

import functools
import random
import time

import orjson

from ...base.errors import ApiError, error_for_status
from ...base.spec import Operation
from ...base.state import State
from ..limits import Window
from .loader import FaultRule, Scenario, matches, restored


class ScenarioBehaviour:
    """Which scenario is in force for whom, and what it does to a request before its handler.

    What is in force, and each fault rule's request counter, live in the sandbox's ``State`` (so
    every process of a fleet applies the same behaviour and counts the same requests). A probability
    rule's draw for its n-th request is seeded by the rule and n: the same draws on every run, in any
    process.
    """

    def __init__(self, state: State, seed: int, *, max_latency_ms: int | None = None) -> None:
        self.state, self.seed, self.max_latency_ms = state, seed, max_latency_ms

    @staticmethod
    def _key(org_id: str | None) -> str:
        return "*" if org_id is None else org_id

    def apply(self, org_id: str | None, scenario: Scenario) -> None:
        """Put ``scenario``'s behaviour in force for ``org_id`` (None: every organization)."""
        self.state.remove(f"fault-counts:{self._key(org_id)}")
        self.state.hput("in-force", self._key(org_id), scenario.stored())

    def remove(self, org_id: str | None) -> None:
        self.state.hremove("in-force", self._key(org_id))
        self.state.remove(f"fault-counts:{self._key(org_id)}")

    def clear(self) -> None:
        for key in self.state.hall("in-force"):
            self.state.remove(f"fault-counts:{key}")
        self.state.remove("in-force")

    def _lookup(self, org_id: str | None) -> tuple[str, Scenario] | None:
        in_force = self.state.hall("in-force")
        if not in_force:
            return None
        key = self._key(org_id) if self._key(org_id) in in_force else "*"
        stored = in_force.get(key)
        return None if stored is None else (key, _parsed(orjson.dumps(stored)))

    def active(self, org_id: str | None) -> Scenario | None:
        """The scenario in force for ``org_id``: its own, else the instance-wide one."""
        found = self._lookup(org_id)
        return None if found is None else found[1]

    def window_for(self, org_id: str) -> tuple[str, Window] | None:
        """The in-force scenario's name and rate-limit window for ``org_id``, if it sets one."""
        scenario = self.active(org_id)
        if scenario is None or scenario.rate_limit is None:
            return None
        return scenario.name, Window(scenario.rate_limit.limit, scenario.rate_limit.window)

    def before_handler(self, operation: Operation, org_id: str | None) -> None:
        """Sleep the scenario's latency, then raise its fault if a rule fires for this request."""
        if operation.is_control:
            return
        found = self._lookup(org_id)
        if found is None:
            return
        key, scenario = found
        if scenario.latency:
            number = self.state.hincr(f"fault-counts:{key}", "latency")
            delay(scenario, operation, random.Random(f"{self.seed}|latency|{number}"), self.max_latency_ms)
        for index, rule in enumerate(scenario.faults):
            if not matches(rule.operations, operation.id):
                continue
            number = self.state.hincr(f"fault-counts:{key}", str(index))
            seed = rule.seed if rule.seed is not None else self.seed
            if _fires(rule, number, random.Random(f"{seed}|{index}|{number}")):
                raise fault_error(rule, scenario.name, operation, number)


@functools.lru_cache(maxsize=256)
def _parsed(stored: bytes) -> Scenario:
    """The scenario a stored form names (parsed once per process: stored forms never change)."""
    return restored(orjson.loads(stored))


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
    message = rule.message or (
        f"Injected by scenario '{scenario}': {operation.id} answers {rule.status} (request {number} matching this rule)"
    )
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after else {}
    details: dict[str, object] = {"scenario": scenario, "request_number": number}
    if rule.status == 429:
        details["retry_after_seconds"] = rule.retry_after
    elif rule.status == 403:
        details = {"required_scope": operation.scope, **details}
    return error_for_status(rule.status, message, details=details, headers=headers)
