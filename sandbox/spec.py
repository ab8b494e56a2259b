"""Load ``openapi.yaml`` once and describe each operation the router serves."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
CONTROL_TAG_PREFIX = "sandbox-"
_PACKAGE_DIR = Path(__file__).resolve().parent


def spec_path() -> Path:
    """The spec shipped in the wheel, else the one at the repository root."""
    for candidate in (_PACKAGE_DIR / "openapi.yaml", _PACKAGE_DIR.parent / "openapi.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("openapi.yaml not found beside the sandbox package")


@cache
def load_spec_text() -> str:
    return spec_path().read_text(encoding="utf-8")


def load_spec() -> dict[str, Any]:
    """A fresh parsed copy of the spec."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return copy.deepcopy(_parsed(loader))


@cache
def _parsed(loader: type) -> dict[str, Any]:
    return yaml.load(load_spec_text(), Loader=loader)  # noqa: S506 - safe loader


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
    def flask_rule(self) -> str:
        return self.path.replace("{", "<").replace("}", ">")

    def example(self, status: int | None = None) -> Any:
        """The embedded example of a response (the success one by default)."""
        response = self.responses.get(str(status or self.success_status), {})
        media = response.get("content", {}).get("application/json", {})
        if "example" in media:
            return media["example"]
        examples: dict[str, Any] = media.get("examples") or {}
        first: dict[str, Any] = next(iter(examples.values()), {})
        return first.get("value")


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
