"""``openapi.yaml``, loaded once per process: the ``Spec`` every consumer reads.

The router, the validators, the docs, CORS, triggers, coverage and the scenario loader all take
their operations from the one ``Spec`` that ``load_spec()`` returns (built on first use, then
shared). Treat it as read-only; ``Spec.copy()`` gives a document to change.

It is served as two documents, cut by pure functions here: ``v1_document`` (every path outside
``/_sandbox/``, the webhooks, the components they use: ``/openapi.json``) and
``control_document`` (the ``/_sandbox/`` paths: ``/_sandbox/openapi.json``).
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
CONTROL_PATH_PREFIX = "/_sandbox/"
CONTROL_INFO = "x-control-plane-info"  # the control-plane document's title and description, in openapi.yaml
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
    def served_documents(self) -> dict[str, tuple[bytes, str]]:
        """What is served, by path prefix, as (JSON, YAML): ``""`` is ``/openapi.json|yaml``, the v1
        document; ``"/_sandbox"`` is ``/_sandbox/openapi.json|yaml``, the control plane's."""
        cut = {"": v1_document(self.document), "/_sandbox": control_document(self.document)}
        return {prefix: (orjson.dumps(document), as_yaml(document)) for prefix, document in cut.items()}

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


def is_control_path(path: str) -> bool:
    """A path of the sandbox's control plane (``/_sandbox/…``): it exists only in the sandbox."""
    return path.startswith(CONTROL_PATH_PREFIX)


def v1_document(spec: dict[str, Any]) -> dict[str, Any]:
    """The v1 API as partners meet it in production: every path outside the control plane, the
    webhooks, and only the components they use. What ``/openapi.json`` serves; generate SDKs from it."""
    return _document(spec, control=False)


def control_document(spec: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's control plane: the ``/_sandbox/…`` paths and the components they use, under the
    title and description of the spec's ``x-control-plane-info``. What ``/_sandbox/openapi.json`` serves."""
    return _document(spec, control=True)


def _document(spec: dict[str, Any], control: bool) -> dict[str, Any]:
    document = {
        key: value
        for key, value in spec.items()
        if key not in ("paths", "webhooks", "components", "tags", CONTROL_INFO)
    }
    document["paths"] = {path: item for path, item in spec.get("paths", {}).items() if is_control_path(path) == control}
    if control:
        document["info"] = {**spec["info"], **spec.get(CONTROL_INFO, {})}
    elif "webhooks" in spec:
        document["webhooks"] = spec["webhooks"]
    operations_of = [
        op
        for part in ("paths", "webhooks")
        for item in document.get(part, {}).values()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]
    used_tags = {tag for op in operations_of for tag in op.get("tags", [])}
    document["tags"] = [tag for tag in spec.get("tags", []) if tag["name"] in used_tags]
    document["components"] = _used_components(spec, document, operations_of)
    return copy.deepcopy(document)


def _used_components(
    spec: dict[str, Any], document: dict[str, Any], operations_of: list[dict[str, Any]]
) -> dict[str, Any]:
    """The spec's components that the document reaches through ``$ref``s (transitively) and its security."""
    components: dict[str, Any] = spec.get("components", {})
    used: set[tuple[str, str]] = set()
    pending = [document["paths"], document.get("webhooks", {})]
    while pending:
        for ref in _refs(pending.pop()):
            kind, _, name = ref.removeprefix("#/components/").partition("/")
            key = (kind, name.partition("/")[0])
            if key not in used and key[1] in components.get(kind, {}):
                used.add(key)
                pending.append(components[kind][key[1]])
    for requirements in [document.get("security", []), *(op.get("security", []) for op in operations_of)]:
        used |= {("securitySchemes", name) for requirement in requirements for name in requirement}
    kept = {
        kind: {name: node for name, node in entries.items() if (kind, name) in used}
        for kind, entries in components.items()
    }
    return {kind: entries for kind, entries in kept.items() if entries}


def _refs(node: Any) -> list[str]:
    """Every local ``#/components/…`` reference inside a node."""
    found: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                found.append(ref)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


class _PlainDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Writes shared nodes (openapi.yaml's anchors) out in full: no ``&id001`` aliases served."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def as_yaml(document: dict[str, Any]) -> str:
    """A document as YAML, keys in the document's own order."""
    return str(yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120))


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
        return is_control_path(self.path)

    @property
    def reads_key(self) -> bool:
        """Whether a sent ``Authorization`` header is authenticated (a bad key then being a 401).

        Always when the operation needs a scope; on an open one only if its ``security`` offers a key as
        an option (``[{}, bearerAuth: []]``: GET /api/v1/health, GET /_sandbox/clock). A keyless operation
        (``security: [{}]``: the key list, the signed files) ignores the header: keyless means keyless."""
        if self.scope is not None:
            return True
        return any(requirement for requirement in self.raw.get("security", [{"bearerAuth": []}]))

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


def _operation(spec: dict[str, Any], path: str, method: str, raw: dict[str, Any], shared: list[Any]) -> Operation:
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
            for p in params
            if p["in"] in ("path", "query", "header")
        ),
        body_schema=media.get("schema") if media else None,
        body_required=bool(body.get("required")),
        success_status=min(int(c) for c in responses if c.isdigit() and c.startswith("2")),
        responses=responses,
        raw=raw,
    )
