"""Find, parse and validate scenario files; a bad file is a ``ScenarioError``, never a traceback.

Shipped scenarios are looked up by name the way ``base/spec.py`` finds ``openapi.yaml``: in the
package directory first (the wheel puts the YAML files there), then in the repository's
``scenarios/``. Anything containing a ``/`` or ending in ``.yaml``/``.yml`` is a path.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from ...base.durations import PATTERN as DURATION_PATTERN
from ...base.durations import parse_duration
from ...base.spec import PACKAGE_DIR, load_spec
from .schema import FAULT_MODES, SCENARIO_SCHEMA, STEP_SCHEMAS

# The wheel ships the YAML files in sandbox/scenarios/; a checkout has them at the repository root.
SCENARIO_DIRS = (PACKAGE_DIR / "scenarios", PACKAGE_DIR.parent / "scenarios")
Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (key path, line) and what."""

    location: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.location or '(top level)'}: {self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be found or is invalid; ``str()`` is ready to print."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source, self.problems = source, problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"{source}: invalid scenario ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}"
        )


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window: int  # seconds


@dataclass(frozen=True)
class LatencyRule:
    operations: tuple[str, ...]
    ms: int
    jitter_ms: int = 0


@dataclass(frozen=True)
class FaultRule:
    operations: tuple[str, ...]
    status: int
    mode: str  # every | first | probability
    amount: float
    seed: int | None = None
    retry_after: int | None = None  # seconds
    message: str | None = None


@dataclass(frozen=True)
class Step:
    kind: str  # trigger | create | replay | rotate_secret | advance | wait
    value: Any
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    source: str
    rate_limit: RateLimit | None = None
    latency: tuple[LatencyRule, ...] = ()
    faults: tuple[FaultRule, ...] = ()
    timeline: tuple[Step, ...] = ()
    data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # what it was built from

    def stored(self) -> dict[str, Any]:
        """What ``restored`` rebuilds it from (scenarios in force are kept in a sandbox's state)."""
        return {"data": self.data, "source": self.source}


def restored(stored: dict[str, Any]) -> Scenario:
    """A scenario from what ``Scenario.stored`` gave (already validated when it was first loaded)."""
    return _build(stored["data"], stored["source"])


def matches(patterns: tuple[str, ...], operation_id: str) -> bool:
    return any(fnmatch.fnmatchcase(operation_id, pattern) for pattern in patterns)


def available() -> dict[str, Path]:
    """Every shipped scenario by name (package directory wins over the repository's)."""
    found: dict[str, Path] = {}
    for directory in SCENARIO_DIRS:
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def find(name_or_path: str) -> Path:
    """The file of a shipped scenario name or a path; ``ScenarioError`` if there is none."""
    if "/" in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        path = Path(name_or_path)
        if not path.is_file():
            raise ScenarioError(name_or_path, [Problem("", "no such file")])
        return path
    shipped = available()
    if name_or_path not in shipped:
        raise ScenarioError(
            name_or_path,
            [Problem("", f"no shipped scenario with this name; available: {', '.join(shipped) or 'none'}")],
        )
    return shipped[name_or_path]


def load(name_or_path: str) -> Scenario:
    """Find, read, parse and validate a scenario."""
    path = find(name_or_path)
    return _load_file(str(path), path.stat().st_mtime_ns)


@cache
def _load_file(path: str, mtime_ns: int) -> Scenario:  # mtime in the key: an edited file reloads
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(path, [Problem("", f"cannot read: {error}")]) from None
    return parse(text, path)


def parse(text: str, source: str) -> Scenario:
    """A scenario from YAML text; ``source`` names it in errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError(
            source, [Problem("", f"not valid YAML: {problem}", mark.line + 1 if mark else None)]
        ) from None
    return from_mapping(data, source, node)


def from_mapping(data: Any, source: str, node: yaml.Node | None = None) -> Scenario:
    """A scenario from already-parsed data (a YAML file, or a JSON body of the control API)."""
    problems = check(data)
    if problems:
        raise ScenarioError(
            source, [Problem(_dotted(where), message, _line_of(node, where)) for where, message in problems]
        )
    return _build(data, source)


def check(data: Any) -> list[tuple[Location, str]]:
    """Every problem with ``data`` as a scenario, each with its key path."""
    if not isinstance(data, dict):
        return [((), "a scenario is a mapping with version, name, description, behaviour, timeline")]
    problems = _schema_problems(SCENARIO_SCHEMA, data, ())
    for index, rule in enumerate((data.get("behaviour") or {}).get("faults") or []):
        if isinstance(rule, dict):
            modes = [mode for mode in FAULT_MODES if mode in rule]
            if len(modes) != 1:
                problems.append(
                    (
                        ("behaviour", "faults", index),
                        f"needs exactly one of {', '.join(FAULT_MODES)} (has {', '.join(modes) or 'none'})",
                    )
                )
    waited = False
    for index, step in enumerate(data.get("timeline") or []):
        if isinstance(step, dict):
            problems += _step_problems(step, ("timeline", index))
            if "advance" in step and waited:
                problems.append(
                    (
                        ("timeline", index),
                        "an advance step cannot follow a wait step: the steps "
                        "after a wait run inside the clock, which cannot advance itself",
                    )
                )
            waited = waited or "wait" in step
    problems += _unknown_operations(data)
    return problems


def _schema_problems(schema: dict[str, Any], data: Any, prefix: Location) -> list[tuple[Location, str]]:
    validator = _validator(id(schema), schema)
    return [((*prefix, *error.instance_path), _message(error)) for error in validator.iter_errors(data)]


def _message(error: Any) -> str:
    """jsonschema-rs's message, with every allowed value spelled out for an enum."""
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Enum):
        allowed = ", ".join(map(str, error.kind.options))
        return f"{error.instance!r} is not one of: {allowed}"
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Pattern) and error.kind.pattern == DURATION_PATTERN:
        units = "a number and a unit (ms, s, m, h, d, w), like 90s, 5m, 24h, 7d or 1h30m"
        return f"{error.instance!r} is not a duration: write {units}"
    return str(error.message)


_VALIDATORS: dict[int, Any] = {}


def _validator(key: int, schema: dict[str, Any]) -> Any:
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema_rs.Draft202012Validator(schema)
    return _VALIDATORS[key]


def _step_problems(step: dict[str, Any], where: Location) -> list[tuple[Location, str]]:
    kinds = [name for name in STEP_SCHEMAS if name in step]
    if len(kinds) != 1:
        found = ", ".join(kinds) or ", ".join(map(str, step)) or "nothing"
        return [(where, f"a step needs exactly one of {', '.join(STEP_SCHEMAS)} (found: {found})")]
    return _schema_problems(STEP_SCHEMAS[kinds[0]], step, where)


def _unknown_operations(data: dict[str, Any]) -> list[tuple[Location, str]]:
    known = tuple(load_spec().by_id)
    behaviour = data.get("behaviour")
    if not known or not isinstance(behaviour, dict):
        return []
    problems: list[tuple[Location, str]] = []
    for section in ("latency", "faults"):
        for index, rule in enumerate(behaviour.get(section) or []):
            patterns = rule.get("operations") if isinstance(rule, dict) else None
            for number, pattern in enumerate(patterns if isinstance(patterns, list) else []):
                if isinstance(pattern, str) and not any(matches((pattern,), op) for op in known):
                    problems.append(
                        (
                            ("behaviour", section, index, "operations", number),
                            f"'{pattern}' matches no operationId in openapi.yaml",
                        )
                    )
    return problems


def _dotted(where: Location) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _line_of(node: yaml.Node | None, where: Location) -> int | None:
    """The 1-based line of the deepest YAML node on the key path."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in where:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, int(child.start_mark.line) + 1
    return line


def _seconds(text: str | None) -> int | None:
    return None if text is None else max(1, math.ceil(parse_duration(text).total_seconds()))


def _build(data: dict[str, Any], source: str) -> Scenario:
    behaviour = data.get("behaviour") or {}
    limit = behaviour.get("rate_limit")
    every = ("*",)
    return Scenario(
        data=data,
        name=data["name"],
        description=data["description"].strip(),
        source=source,
        rate_limit=RateLimit(limit["limit"], _seconds(limit.get("window", "60s")) or 60) if limit else None,
        latency=tuple(
            LatencyRule(tuple(rule.get("operations", every)), rule["ms"], rule.get("jitter_ms", 0))
            for rule in behaviour.get("latency") or []
        ),
        faults=tuple(
            FaultRule(
                tuple(rule.get("operations", every)),
                rule["status"],
                mode := next(m for m in FAULT_MODES if m in rule),
                rule[mode],
                rule.get("seed"),
                _seconds(rule.get("retry_after")),
                rule.get("message"),
            )
            for rule in behaviour.get("faults") or []
        ),
        timeline=tuple(_build_step(step) for step in data.get("timeline") or []),
    )


def _build_step(step: dict[str, Any]) -> Step:
    kind = next(name for name in STEP_SCHEMAS if name in step)
    return Step(kind, step[kind], {name: value for name, value in step.items() if name not in (kind, "note")})
