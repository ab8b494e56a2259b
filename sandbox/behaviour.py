"""Server behaviour a scenario or a ``Prefer`` header can change: latency, injected errors,
forced responses. The default behaviour changes nothing.

Two sources, checked in this order before a handler runs:

- ``Prefer`` (Prism style, RFC 7240; unknown preferences are ignored): ``code=429`` answers
  with that documented status, ``example=NAME`` with that named example from the spec,
  ``scenario=NAME`` applies that scenario's behaviour to this one request. None of them changes
  any server state: no counter moves, no record is written.
- The scenario running for the caller's organization (or for every organization, when started
  with ``serve --scenario``): latency and deterministic faults. Control operations (tag
  ``sandbox``) are never delayed or failed by a scenario, so you can always stop it.

Rate limits from a scenario are enforced by ``scenarios.limits.TenantLimiter``, not here.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .call import Reply
from .errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    InjectedFault,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    field_error,
)
from .ratelimit import reset_at

if TYPE_CHECKING:
    from .scenarios.loader import FaultRule, RateLimit, Scenario
    from .spec import Operation

_PREFERENCE = re.compile(r'\s*([A-Za-z_-]+)\s*=\s*"?([^",;]*)"?\s*')


@dataclass
class _Running:
    """A scenario's behaviour applied to one organization (or all), with its request counters."""

    scenario: Scenario
    seed: int
    counts: list[int] = field(default_factory=list)
    draws: list[random.Random] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.scenario.faults)
        self.draws = [
            random.Random(f"{rule.seed if rule.seed is not None else self.seed}|{index}")
            for index, rule in enumerate(self.scenario.faults)
        ]


class Behaviour:
    """Decides, before a handler runs, whether to delay, fail or force the response."""

    def __init__(self, seed: int = 0, clock: Any = None) -> None:
        self.seed, self.clock = seed, clock
        self._lock = threading.Lock()
        self._running: dict[str | None, _Running] = {}  # None: every organization

    # Which scenario is in force ------------------------------------------------------------

    def apply(self, org_id: str | None, scenario: Scenario) -> None:
        """Put ``scenario``'s behaviour in force for ``org_id`` (None: every organization)."""
        with self._lock:
            self._running[org_id] = _Running(scenario, self.seed)

    def remove(self, org_id: str | None) -> Scenario | None:
        with self._lock:
            running = self._running.pop(org_id, None)
        return None if running is None else running.scenario

    def active(self, org_id: str | None) -> Scenario | None:
        """The scenario in force for ``org_id``: its own, else the instance-wide one."""
        running = self._lookup(org_id)
        return None if running is None else running.scenario

    @property
    def idle(self) -> bool:
        """No scenario is in force anywhere."""
        return not self._running

    def rate_limit_for(self, org_id: str | None) -> RateLimit | None:
        scenario = self.active(org_id)
        return None if scenario is None else scenario.rate_limit

    def _lookup(self, org_id: str | None) -> _Running | None:
        return self._running.get(org_id) or self._running.get(None)

    # The hook the router calls ---------------------------------------------------------------

    def intercept(self, operation: Operation, org_id: str | None, prefer: str | None) -> Any:
        """Return a ``Reply`` to answer instead of the handler, raise an ``ApiError``, return a dict
        of headers for the handler's answer to carry (a ``Prefer: scenario=`` that only added
        latency), or None."""
        if prefer:
            preferences = parse_prefer(prefer)
            if "code" in preferences:
                return forced_code(operation, preferences["code"], self._now())
            if "example" in preferences:
                return forced_example(operation, preferences["example"])
            if "scenario" in preferences:
                return _once(operation, preferences["scenario"], self._now())
        if not self._running or operation.is_control:
            return None
        running = self._lookup(org_id)
        if running is not None:
            _delay(running.scenario, operation, running.draws[0] if running.draws else random.Random(0))
            self._maybe_fail(running, operation)
        return None

    def _now(self) -> float:
        return self.clock.now().timestamp() if self.clock is not None else time.time()

    def _maybe_fail(self, running: _Running, operation: Operation) -> None:
        from .scenarios.loader import matches

        for index, rule in enumerate(running.scenario.faults):
            if not matches(rule.operations, operation.id):
                continue
            with self._lock:
                running.counts[index] += 1
                number = running.counts[index]
                fires = _fires(rule, number, running.draws[index])
            if fires:
                raise fault_error(rule, running.scenario.name, operation, number)


def parse_prefer(header: str) -> dict[str, str]:
    """``code=429, example=created`` → ``{"code": "429", "example": "created"}`` (first wins)."""
    found: dict[str, str] = {}
    for part in re.split(r"[,;]", header):
        match = _PREFERENCE.fullmatch(part)
        if match:
            found.setdefault(match.group(1).lower(), match.group(2).strip())
    return found


def _fires(rule: FaultRule, number: int, draw: random.Random) -> bool:
    if rule.mode == "every":
        return number % int(rule.amount) == 0
    if rule.mode == "first":
        return number <= rule.amount
    return draw.random() < rule.amount


def _delay(scenario: Scenario, operation: Operation, draw: random.Random) -> None:
    from .scenarios.loader import matches

    for rule in scenario.latency:
        if matches(rule.operations, operation.id):
            jitter = draw.randint(0, rule.jitter_ms) if rule.jitter_ms else 0
            time.sleep((rule.ms + jitter) / 1000)
            return


def fault_error(rule: FaultRule, scenario: str, operation: Operation, number: int) -> ApiError:
    """The error a fault rule injects, with ``Retry-After`` when the rule gives one."""
    message = rule.message or (
        f"Injected by scenario '{scenario}': {operation.id} answers "
        f"{rule.status} (request {number} matching this rule)"
    )
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after else {}
    details = {"scenario": scenario, "request_number": number}
    if rule.status == 429:
        return RateLimited(
            message, details={**details, "retry_after_seconds": rule.retry_after}, headers=headers
        )
    return error_for_status(rule.status, message, operation, details=details, headers=headers)


def error_for_status(
    status: int,
    message: str,
    operation: Operation,
    *,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    """An ``ApiError`` with the stable code that fits ``status``."""
    details, headers = details or {}, headers or {}
    if status == 400:
        error: ApiError = ValidationFailed([field_error("request", message, "forced")])
        error.details.update(details)
        return error
    by_status: dict[int, type[ApiError]] = {
        401: Unauthorized,
        403: Forbidden,
        404: NotFound,
        409: Conflict,
        429: RateLimited,
    }
    if status == 403:
        details = {"required_scope": operation.scope, **details}
    if status in by_status:
        error = by_status[status](message, details=details)
        error.headers.update(headers)
        return error
    if status >= 500:
        return InjectedFault(message, status=status, details=details, headers=headers)
    return ApiError(message, status=status, code=_generic_code(status), details=details, headers=headers)


def _generic_code(status: int) -> str:
    return {
        405: "method_not_allowed",
        408: "request_timeout",
        410: "url_expired",
        413: "payload_too_large",
        415: "unsupported_media_type",
        422: "validation_error",
    }.get(status, "bad_request")


# Prefer ---------------------------------------------------------------------------------------


def _documented(operation: Operation) -> list[int]:
    return sorted(int(code) for code in operation.responses if code.isdigit())


def _is_documented(operation: Operation, status: int) -> bool:
    """An explicit code, or a range the spec documents (``5XX``)."""
    return str(status) in operation.responses or f"{status // 100}XX" in operation.responses


def forced_code(operation: Operation, raw: str, now: float | None = None) -> Reply:
    """Answer with a documented status: its example for a success, the error envelope otherwise."""
    documented = _documented(operation)
    status = int(raw) if raw.isdigit() and len(raw) == 3 else None
    if status is None or not _is_documented(operation, status):
        ranges = [code for code in operation.responses if code.endswith("XX")]
        raise BadRequest(
            f"Prefer: code={raw} is not a documented response of {operation.id}; "
            f"documented: {', '.join([*map(str, documented), *ranges])}",
            details={"prefer": f"code={raw}", "documented": documented, "ranges": ranges},
        )
    media_type, example = _media_example(
        operation, status if str(status) in operation.responses else f"{status // 100}XX"
    )
    applied = {"Preference-Applied": f"code={status}"}
    if status >= 400:
        error = _error_from_example(example, status, operation, time.time() if now is None else now)
        error.headers.update(applied)
        raise error
    if status == 204:
        return Reply("", 204, applied, mimetype="text/plain")
    if example is None:
        raise BadRequest(
            f"{operation.id} has no embedded example for {status} in openapi.yaml",
            details={"prefer": f"code={raw}", "documented": documented},
        )
    return Reply(example, status, applied, mimetype=media_type)


def _error_from_example(example: Any, status: int, operation: Operation, now: float) -> ApiError:
    message = f"Forced by the Prefer header (code={status})"
    error = (
        example.get("error") if isinstance(example, dict) and status < 500 else None
    )  # 5xx: injected_fault
    if isinstance(error, dict) and {"code", "message"} <= set(error):
        forced = error_for_status(status, str(error["message"]), operation)
        forced = ApiError(
            str(error["message"]),
            status=status,
            code=str(error["code"]),
            details=error.get("details") or {},
            headers=forced.headers,
        )
    else:
        forced = error_for_status(status, message, operation)
    if status == 429:  # as a real 429: the wait the body names, and the quota spent until then
        wait = int(forced.details.get("retry_after_seconds", 60))
        forced.headers.update({"Retry-After": str(wait), "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": str(reset_at(wait))})
    if status == 503:
        forced.headers.setdefault("Retry-After", "1")
    return forced


def _media_example(operation: Operation, status: int | str, name: str | None = None) -> tuple[str, Any]:
    """The (media type, example) of a response: ``example``, else the named or first of ``examples``."""
    for media_type, media in (operation.responses.get(str(status), {}).get("content") or {}).items():
        examples = media.get("examples") or {}
        if name is not None:
            if name in examples:
                return media_type, examples[name].get("value")
            continue
        if "example" in media:
            return media_type, media["example"]
        if examples:
            return media_type, next(iter(examples.values())).get("value")
    return "application/json", None


def forced_example(operation: Operation, name: str) -> Reply:
    """Answer with the named example of any of the operation's responses (success first)."""
    order = sorted(_documented(operation), key=lambda code: (code >= 300, code))
    for status in order:
        media_type, example = _media_example(operation, status, name)
        if example is not None:
            return Reply(example, status, {"Preference-Applied": f"example={name}"}, mimetype=media_type)
    names = sorted(
        {
            example
            for status in order
            for media in (operation.responses.get(str(status), {}).get("content") or {}).values()
            for example in (media.get("examples") or {})
        }
    )
    raise BadRequest(
        f"{operation.id} has no example named '{name}'; named examples: {', '.join(names) or 'none'}",
        details={"prefer": f"example={name}", "examples": names},
    )


def _once(operation: Operation, name: str, now: float) -> dict[str, str]:
    """Apply a scenario's behaviour to this request only: its latency, then its limit or fault.
    Whatever the answer, it carries ``Preference-Applied``; returns that header when the request
    goes on to its handler."""
    from .scenarios.loader import ScenarioError, load

    try:
        scenario = load(name) if "/" not in name else None
    except ScenarioError as error:
        raise BadRequest(
            f"Prefer: scenario={name}: {error.problems[0].message}", details={"prefer": f"scenario={name}"}
        ) from None
    if scenario is None:
        raise BadRequest(
            "Prefer: scenario= takes a shipped scenario name, not a path",
            details={"prefer": f"scenario={name}"},
        )
    applied = {"Preference-Applied": f"scenario={name}"}
    try:
        _apply_once(scenario, operation, now)
    except ApiError as error:
        error.headers.update(applied)
        raise
    return applied


def _apply_once(scenario: Scenario, operation: Operation, now: float) -> None:
    from .scenarios.loader import matches

    name = scenario.name
    _delay(scenario, operation, random.Random(0))
    if operation.is_control:
        return
    if scenario.rate_limit is not None:
        limit, window = scenario.rate_limit.limit, scenario.rate_limit.window
        reset = int(now // window) * window + window
        retry = max(1, math.ceil(reset - now))
        raise RateLimited(
            f"Scenario '{name}' (via Prefer): rate limit of {limit} requests per {window}s "
            f"exceeded; retry after {retry}s",
            details={
                "limit": limit,
                "window_seconds": window,
                "retry_after_seconds": retry,
                "scenario": name,
            },
            headers={
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset_at(reset - now)),
                "Retry-After": str(retry),
            },
        )
    for rule in scenario.faults:
        if matches(rule.operations, operation.id):
            raise fault_error(rule, name, operation, 1)
