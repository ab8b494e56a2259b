"""The JSON Schema of a scenario file (format version 1), checked with jsonschema-rs."""

from __future__ import annotations

from typing import Any

from ...base.durations import PATTERN as DURATION_PATTERN
from ..webhooks.subscriptions import EVENT_TYPES

ERROR_STATUSES = [400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504]
CREATABLE = ["lead", "claim"]

_duration = {"type": "string", "pattern": DURATION_PATTERN}
_operations = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "pattern": r"^[A-Za-z0-9_*?\[\]-]+$"},
    "description": "operationIds from openapi.yaml; shell-style globs allowed (list_*, *)",
}
_count = {"type": "integer", "minimum": 1, "maximum": 200}


def _step(keyword: str, value: dict[str, Any], **extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [keyword],
        "additionalProperties": False,
        "properties": {keyword: value, "note": {"type": "string"}, **extra},
    }


LATENCY_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ms"],
    "properties": {
        "operations": _operations,
        "ms": {"type": "integer", "minimum": 0, "maximum": 30_000},
        "jitter_ms": {"type": "integer", "minimum": 0, "maximum": 30_000},
    },
}
FAULT_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["status"],
    "properties": {
        "operations": _operations,
        "status": {"type": "integer", "enum": ERROR_STATUSES},
        "every": {"type": "integer", "minimum": 1, "description": "fail the Nth, 2Nth, ... matching request"},
        "first": {"type": "integer", "minimum": 1, "description": "fail the first N matching requests"},
        "probability": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "seed": {"type": "integer", "description": "seed of the probability draws (default: the world seed)"},
        "retry_after": _duration,
        "message": {"type": "string", "minLength": 1},
    },
}
FAULT_MODES = ("every", "first", "probability")  # exactly one per rule (checked by the loader)
STEP_SCHEMAS = {
    schema["required"][0]: schema
    for schema in (
        _step("trigger", {"type": "string", "enum": list(EVENT_TYPES)}, count=_count),
        _step(
            "create",
            {"type": "string", "enum": CREATABLE},
            count=_count,
            fields={"type": "object", "description": "request body fields for the create operation"},
        ),
        _step(
            "replay",
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "last": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 500,
                        "description": "replay the tenant's last N events (default: all this run emitted)",
                    },
                    "types": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
                    "times": {"type": "integer", "minimum": 1, "maximum": 10},
                    "order": {"type": "string", "enum": ["emitted", "reverse", "shuffle"]},
                    "seed": {"type": "integer"},
                },
            },
        ),
        _step("rotate_secret", {"type": "string", "enum": ["all"]}),
        _step("advance", _duration),
        _step("wait", _duration),
    )
}
SCENARIO_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "EAL Sandbox scenario",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "name", "description"],
    "properties": {
        "version": {"const": 1},
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
        "description": {"type": "string", "minLength": 1},
        "behaviour": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "rate_limit": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["limit"],
                    "properties": {
                        "limit": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                        "window": _duration,
                    },
                },
                "latency": {"type": "array", "items": LATENCY_RULE},
                "faults": {"type": "array", "items": FAULT_RULE},
            },
        },
        "timeline": {"type": "array", "items": {"type": "object"}},  # each step: STEP_SCHEMAS
    },
}
