"""``openapi.yaml``, loaded once per process: the ``Spec`` every consumer reads.

The router, the validators, the docs, CORS, triggers, coverage and the scenario loader all take
their operations from the one ``Spec`` that ``load_spec()`` returns (built on first use, then
shared). Treat it as read-only; ``Spec.copy()`` gives a document to change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import orjson
import yaml

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
CONTROL_TAG_PREFIX = "sandbox-"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # sandbox/


def spec_path() -> Path:
    """The spec shipped in the wheel, else the one at the repository root."""
    for candidate in (PACKAGE_DIR / "openapi.yaml", PACKAGE_DIR.parent / "openapi.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("openapi.yaml not found beside the sandbox package")


class Spec:
    """The parsed spec, its operations by id and what is derived from it, built once."""

    def __init__(self, text: str) -> None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.text = text
        self.document: dict[str, Any] = yaml.load(text, Loader=loader)  # noqa: S506 - safe loader
        self.components: dict[str, Any] = self.document.get("components", {})
        self.operations: tuple[Operation, ...] = tuple(operations(self.document))
        self.by_id: dict[str, Operation] = {operation.id: operation for operation in self.operations}

    @property
    def title(self) -> str:
        return str(self.document.get("info", {}).get("title", "EAL Sandbox"))

    @cached_property
    def json(self) -> bytes:
        """The document as JSON, as ``/openapi.json`` serves it."""
        return orjson.dumps(self.document)

    @cached_property
    def header_parameters(self) -> tuple[str, ...]:
        """Every header parameter name an operation declares, sorted."""
        return tuple(sorted({p.name for op in self.operations for p in op.parameters if p.location == "header"}))

    @cached_property
    def api_operations(self) -> tuple[Operation, ...]:
        """The v1 operations (the control plane is not part of production)."""
        return tuple(operation for operation in self.operations if not operation.is_control)

    def copy(self) -> dict[str, Any]:
        """A deep copy of the document, free to change."""
        return copy.deepcopy(self.document)


@cache
def load_spec() -> Spec:
    """The process's ``Spec`` (read and parsed on first use)."""
    return Spec(spec_path().read_text(encoding="utf-8"))


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` (``#/components/...``) until a real node."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query, header
    required: bool
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One method on one path, as the spec writes it."""

    id: str
    method: str
    path: str
    tag: str
    scope: str | None
    grant_scope: str | None  # the grant scope that lets a parent read a child's data here (x-grant-scope)
    parameters: tuple[Parameter, ...]
    body_schema: dict[str, Any] | None
    body_required: bool
    success_status: int
    responses: dict[str, Any] = field(repr=False)
    raw: dict[str, Any] = field(repr=False)

    @property
    def is_control(self) -> bool:
        """A sandbox control operation (``/_sandbox/…``, tags ``sandbox-*``), not part of production."""
        return self.path.startswith("/_sandbox/")

    @property
    def handler_module(self) -> str:
        """Where its handler lives: tag ``leads`` → ``sandbox.resources.leads``, tag ``sandbox-clock`` →
        ``sandbox.resources.control.clock``."""
        if self.tag.startswith(CONTROL_TAG_PREFIX):
            return f"sandbox.resources.control.{self.tag.removeprefix(CONTROL_TAG_PREFIX)}"
        return f"sandbox.resources.{self.tag}"

    @property
    def documented_statuses(self) -> tuple[int, ...]:
        """The explicit status codes of its responses, ascending (ranges like ``5XX`` left out)."""
        return tuple(sorted(int(code) for code in self.responses if code.isdigit()))

    @property
    def flask_rule(self) -> str:
        return self.path.replace("{", "<").replace("}", ">")


def operations(spec: dict[str, Any]) -> list[Operation]:
    """Every operation in the spec, in file order."""
    found = []
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method in item:
                found.append(_operation(spec, path, method, item[method], shared))
    return found


def _operation(spec: dict[str, Any], path: str, method: str, raw: dict[str, Any],
               shared: list[Any]) -> Operation:
    params = [resolve(spec, p) for p in [*shared, *raw.get("parameters", [])]]
    body = resolve(spec, raw.get("requestBody")) or {}
    media = body.get("content", {}).get("application/json", {})
    responses = {code: resolve(spec, r) for code, r in raw.get("responses", {}).items()}
    scope = raw.get("x-required-scope")
    return Operation(
        id=raw["operationId"],
        method=method.upper(),
        path=path,
        tag=raw["tags"][0],
        scope=None if scope in (None, "none") else scope,
        grant_scope=raw.get("x-grant-scope"),
        parameters=tuple(
            Parameter(p["name"], p["in"], bool(p.get("required")), p.get("schema", {}))
            for p in params if p["in"] in ("path", "query", "header")
        ),
        body_schema=media.get("schema") if media else None,
        body_required=bool(body.get("required")),
        success_status=min(int(c) for c in responses if c.isdigit() and c.startswith("2")),
        responses=responses,
        raw=raw,
    )
