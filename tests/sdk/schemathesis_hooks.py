"""schemathesis hooks for the black-box run of the control-plane document (``SCHEMATHESIS_HOOKS``).

Starting a scenario that injects faults or a rate limit (``flaky-api``, ``rate-limit``, or an
inline scenario with ``behaviour.faults`` / ``behaviour.rate_limit``) makes the v1 API answer
503s and 429s on purpose for that organization. Control endpoints are never affected, but a v1
run sharing the server would be; so such cases are not generated. Every other scenario is.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from sandbox.services.scenarios.loader import available, load

FAULT_INJECTING = frozenset(name for name in available() if load(name).faults or load(name).rate_limit)


def injects_faults(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if isinstance(body.get("name"), str) and body["name"] in FAULT_INJECTING:
        return True
    inline = body.get("scenario")
    behaviour = inline.get("behaviour") if isinstance(inline, dict) else None
    return isinstance(behaviour, dict) and bool(behaviour.get("faults") or behaviour.get("rate_limit"))


@schemathesis.hook("filter_case").apply_to(operation_id="start_scenario")
def no_fault_injecting_scenarios(context: Any, case: Any) -> bool:
    return not injects_faults(case.body)
