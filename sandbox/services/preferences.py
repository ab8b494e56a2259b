"""The ``Prefer`` request header (Prism style, RFC 7240): force one answer, change nothing stored.

- ``code=429`` answers with that documented status: the spec's example for a success, the error
  envelope (from the spec's example when it has one) otherwise;
- ``example=NAME`` answers with that named example of any of the operation's responses;
- ``scenario=NAME`` applies that shipped scenario's behaviour to this one request: its latency,
  then its rate limit (a 429 as if the window were spent) or its first fault rule that matches.

A forced answer needs a valid request, as with Prism: the pipeline honours ``Prefer`` only after
authentication, scope, parameters, body and ``X-EAL-Organization`` were checked. No counter moves
and no record is written. Honoured preferences are echoed in ``Preference-Applied``; unknown
preference names are ignored; an undocumented code, unknown example or scenario is a 400.
"""

from __future__ import annotations

import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..base.errors import ApiError, BadRequest, error_for_status, rate_limited
from ..base.reply import Reply
from ..base.spec import Operation
from .scenarios.behaviour import delay, fault_error
from .scenarios.loader import Scenario, ScenarioError, load, matches

_PREFERENCE = re.compile(r'\s*([A-Za-z_-]+)\s*=\s*"?([^",;]*)"?\s*')
APPLIED = "Preference-Applied"


@dataclass(frozen=True, slots=True)
class Preference:
    """An honoured preference: a reply to send instead of the handler's, or only headers the
    handler's answer carries (a ``scenario=`` that added latency and nothing else)."""

    headers: dict[str, str] = field(default_factory=dict)
    reply: Reply | None = None


def parse_prefer(header: str) -> dict[str, str]:
    """``code=429, example=created`` → ``{"code": "429", "example": "created"}`` (first wins)."""
    found: dict[str, str] = {}
    for part in re.split(r"[,;]", header):
        match = _PREFERENCE.fullmatch(part)
        if match:
            found.setdefault(match.group(1).lower(), match.group(2).strip())
    return found


def honour(operation: Operation, header: str, now: float) -> Preference | None:
    """What the ``Prefer`` header asks of this request; None when it names nothing we honour.
    ``now`` is the sandbox clock (unix seconds), which rate-limit windows follow."""
    preferences = parse_prefer(header)
    if "code" in preferences:
        return forced_code(operation, preferences["code"])
    if "example" in preferences:
        return forced_example(operation, preferences["example"])
    if "scenario" in preferences:
        return scenario_once(operation, preferences["scenario"], now)
    return None


def _is_documented(operation: Operation, status: int) -> bool:
    """An explicit code, or a range the spec documents (``5XX``)."""
    return str(status) in operation.responses or f"{status // 100}XX" in operation.responses


def forced_code(operation: Operation, raw: str) -> Preference:
    """Answer with a documented status: its example for a success, the error envelope otherwise."""
    documented = list(operation.documented_statuses)
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
    applied = {APPLIED: f"code={status}"}
    if status >= 400:
        error = _error_from_example(example, status, operation)
        error.headers.update(applied)
        raise error
    if status == 204:
        return Preference(applied, Reply("", 204, applied, mimetype="text/plain"))
    if example is None:
        raise BadRequest(
            f"{operation.id} has no embedded example for {status} in openapi.yaml",
            details={"prefer": f"code={raw}", "documented": documented},
        )
    return Preference(applied, Reply(example, status, applied, mimetype=media_type))


def _error_from_example(example: Any, status: int, operation: Operation) -> ApiError:
    """The error a forced code answers: the spec example's code and message (5xx: injected_fault)."""
    error = example.get("error") if isinstance(example, dict) and status < 500 else None
    if isinstance(error, dict) and {"code", "message"} <= set(error):
        forced = ApiError(
            str(error["message"]), status=status, code=str(error["code"]), details=error.get("details") or {}
        )
    else:
        details = {"required_scope": operation.scope} if status == 403 else {}
        forced = error_for_status(status, f"Forced by the Prefer header (code={status})", details=details)
    if status == 401:
        forced.headers.setdefault("WWW-Authenticate", 'Bearer realm="eal-sandbox"')
    if status == 429:  # as a real 429: the wait the body names, and the quota spent until then
        wait = int(forced.details.get("retry_after_seconds", 60))
        forced.headers.update(
            {
                "Retry-After": str(wait),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(time.time()) + wait),
            }
        )
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


def forced_example(operation: Operation, name: str) -> Preference:
    """Answer with the named example of any of the operation's responses (success first)."""
    order = sorted(operation.documented_statuses, key=lambda code: (code >= 300, code))
    for status in order:
        media_type, example = _media_example(operation, status, name)
        if example is not None:
            applied = {APPLIED: f"example={name}"}
            return Preference(applied, Reply(example, status, applied, mimetype=media_type))
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


def scenario_once(operation: Operation, name: str, now: float) -> Preference:
    """Apply a shipped scenario's behaviour to this request only: its latency, then its limit or
    fault. Whatever the answer, it carries ``Preference-Applied``."""
    if "/" in name:
        raise BadRequest(
            "Prefer: scenario= takes a shipped scenario name, not a path", details={"prefer": f"scenario={name}"}
        )
    try:
        scenario = load(name)
    except ScenarioError as error:
        raise BadRequest(
            f"Prefer: scenario={name}: {error.problems[0].message}", details={"prefer": f"scenario={name}"}
        ) from None
    applied = {APPLIED: f"scenario={name}"}
    try:
        _apply_once(scenario, operation, now)
    except ApiError as error:
        error.headers.update(applied)
        raise
    return Preference(applied)


def _apply_once(scenario: Scenario, operation: Operation, now: float) -> None:
    delay(scenario, operation, random.Random(0))
    if operation.is_control:
        return
    if scenario.rate_limit is not None:
        limit, window = scenario.rate_limit.limit, scenario.rate_limit.window
        reset_in = int(now // window) * window + window - now
        retry = max(1, math.ceil(reset_in))
        raise rate_limited(
            f"Scenario '{scenario.name}' (via Prefer): rate limit of {limit} requests per {window}s "
            f"exceeded; retry after {retry}s",
            limit=limit,
            window_seconds=window,
            retry_after=retry,
            reset_at=math.ceil(time.time() + reset_in),
            details={"scenario": scenario.name},
        )
    for rule in scenario.faults:
        if matches(rule.operations, operation.id):
            raise fault_error(rule, scenario.name, operation, 1)
