"""Per-operation request validators, compiled once at start-up.

openapi-core is the reference validator (it checks the spec at start-up and, in the test
suite, every request and response). On the hot path each operation instead gets compiled
jsonschema-rs validators — one for its path parameters, one for its query, one for its JSON
body — which cost microseconds rather than milliseconds. Both sides share the format checks
below and openapi-core's casting rules for query strings, and
``tests/test_validation_differential.py`` drives generated requests through both to show
they accept and reject the same ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import jsonschema_rs
from openapi_core.util import BOOLEAN_FALSE_VALUES, BOOLEAN_TRUE_VALUES

from ..base.errors import ValidationFailed, field_error
from ..base.spec import Operation, Parameter

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value)) and len(value) <= 254


def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:  # and it stays on the calendar once in UTC (9999-12-31T23:59:59-23:59 would not)
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


def is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


def is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an IPv4 address in brackets
        return False
    return bool(parts.scheme and parts.netloc) and " " not in value


# Shared by the hot path and by openapi-core (``extra_format_validators``).
FORMAT_CHECKS: dict[str, Callable[[object], bool]] = {
    "email": is_email,
    "date-time": is_date_time,
    "uuid": is_uuid,
    "uri": is_uri,
}


class _Uncastable(ValueError):
    pass


def _cast(raw: str, schema: Mapping[str, Any]) -> Any:
    """Turn a query/path string into the schema's type, as openapi-core casts it."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    try:
        if "integer" in kinds:
            return int(raw)
        if "number" in kinds:
            return float(raw)
    except ValueError as error:
        raise _Uncastable(f"must be {'an integer' if 'integer' in kinds else 'a number'}") from error
    if "boolean" in kinds:
        lowered = raw.lower()
        if lowered in BOOLEAN_TRUE_VALUES:
            return True
        if lowered in BOOLEAN_FALSE_VALUES:
            return False
        raise _Uncastable("must be a boolean (true or false)")
    return raw


def _compile(schema: dict[str, Any], components: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        {**schema, "components": components},
        validate_formats=True,
        formats=FORMAT_CHECKS,
    )


def _messages(error: Any, location: str, schema: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """One or more field errors, located like ``body.email``, from a jsonschema-rs error."""
    path = ".".join([location, *(str(p) for p in error.instance_path)])
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        options = _if_else_options(schema, list(error.schema_path)) if schema else None
        if options:
            return [field_error(path, "needs at least one of: " + ", or ".join(options), "any_of_required")]
        return [field_error(f"{path}.{kind.property}", "is required", "required")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        return [field_error(f"{path}.{name}", "is not an accepted field", "unknown_field") for name in kind.unexpected]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AnyOf) and _all_required(error) and schema:
        return [field_error(path, _any_of_required_message(schema, list(error.schema_path)), "any_of_required")]
    return [field_error(path, error.message, type(kind).__name__.lower())]


def _all_required(error: Any) -> bool:
    return all(
        isinstance(e.kind, jsonschema_rs.ValidationErrorKind.Required) for branch in error.kind.context for e in branch
    )


def _any_of_required_message(schema: dict[str, Any], schema_path: list[Any]) -> str:
    """ "needs at least one of: email, or name + company", read off the failing anyOf."""
    node: Any = schema
    for step in schema_path:
        node = _follow(schema, node["$ref"]) if step == "$ref" else node[step]
    options = [" + ".join(branch.get("required", [])) for branch in node]
    return "needs at least one of: " + ", or ".join(options)


def _if_else_options(schema: dict[str, Any], schema_path: list[Any]) -> list[str] | None:
    """The alternatives of an "at least one of" rule written ``if: {required: A}, else: {required: B}``
    (what generators can type), when this required error comes from its ``else``; else None."""
    if schema_path[-2:] != ["else", "required"]:
        return None
    node: Any = schema
    for step in schema_path[:-2]:
        node = _follow(schema, node["$ref"]) if step == "$ref" else node[step]
    condition, otherwise = node.get("if", {}), node["else"]
    if set(condition) != {"required"} or set(otherwise) != {"required"}:
        return None
    return [" + ".join(condition["required"]), " + ".join(otherwise["required"])]


def _follow(schema: dict[str, Any], ref: str) -> Any:
    node: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


class RawValues(Protocol):
    """Raw parameter strings by name: a dict, werkzeug's query ``MultiDict`` or its ``Headers``."""

    def __contains__(self, name: str, /) -> bool: ...

    def __getitem__(self, name: str, /) -> str: ...


class ParameterSet:
    """The parameters of one location (path or query) of one operation."""

    def __init__(self, location: str, parameters: list[Parameter], components: dict[str, Any]) -> None:
        self.location = location
        self.parameters = parameters
        self.defaults = {p.name: p.schema["default"] for p in parameters if "default" in p.schema}
        schema = {
            "type": "object",
            "properties": {p.name: p.schema for p in parameters},
            "required": [p.name for p in parameters if p.required],
        }
        self.validator = _compile(schema, components) if parameters else None

    def parse(self, raw: RawValues, errors: list[dict[str, str]]) -> dict[str, Any]:
        """Cast and check the raw strings; appends field errors, returns typed values."""
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            if parameter.name not in raw:  # a membership test: a MultiDict's get() raises and catches
                continue
            text = raw[parameter.name]
            where = f"{self.location}.{parameter.name}"
            if text == "" and self.location == "query":
                errors.append(field_error(where, "must not be empty", "empty"))
                continue
            try:
                values[parameter.name] = _cast(text, parameter.schema)
            except _Uncastable as problem:
                errors.append(field_error(where, str(problem), "type"))
        if self.validator is not None:
            for error in self.validator.iter_errors(values):
                errors.extend(_messages(error, self.location))
        return {**self.defaults, **values}


class RequestValidator:
    """Everything needed to check one operation's request, built once."""

    def __init__(self, operation: Operation, components: dict[str, Any]) -> None:
        self.operation = operation
        by_location: dict[str, list[Parameter]] = {"path": [], "query": [], "header": []}
        for parameter in operation.parameters:
            by_location[parameter.location].append(parameter)
        self.path = ParameterSet("path", by_location["path"], components)
        self.query = ParameterSet("query", by_location["query"], components)
        self.header = ParameterSet("header", by_location["header"], components)
        self.body = _compile(operation.body_schema, components) if operation.body_schema else None
        self.body_schema = {**operation.body_schema, "components": components} if operation.body_schema else None

    def check_parameters(
        self, path: RawValues, query: RawValues, headers: RawValues
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        path_values, query_values, _ = self.check_all_parameters(path, query, headers)
        return path_values, query_values

    def check_all_parameters(
        self, path: RawValues, query: RawValues, headers: RawValues
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The typed path, query and header parameters, or the 400 listing every problem."""
        errors: list[dict[str, str]] = []
        path_values = self.path.parse(path, errors)
        query_values = self.query.parse(query, errors)
        header_values = self.header.parse(headers, errors) if self.header.parameters else {}
        if errors:
            raise ValidationFailed(errors)
        return path_values, query_values, header_values

    def check_body(self, body: Any) -> None:
        """Check a parsed JSON body; ``None`` means no body was sent."""
        if body is None:
            if self.operation.body_required:
                raise ValidationFailed([field_error("body", "a JSON request body is required", "required")])
            return
        if self.body is None:
            return
        found = [m for error in self.body.iter_errors(body) for m in _messages(error, "body", self.body_schema)]
        errors = [m for i, m in enumerate(found) if m not in found[:i]]  # an if/else rule fails once per field
        if errors:
            raise ValidationFailed(errors)
