"""The world's bulky wording, loaded once from the YAML files in ``data/``."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"


@cache
def load(name: str) -> Any:
    """Read ``data/<name>.yaml`` (once per process)."""
    with (DATA_DIR / f"{name}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def areas() -> list[dict[str, Any]]:
    """Atlanta-metro franchise territories: name, cities with postal codes, local places."""
    return load("areas")["areas"]  # type: ignore[no-any-return]


def networks() -> list[str]:
    """Names a seeded parent franchise network may take."""
    return load("areas")["networks"]  # type: ignore[no-any-return]


def transcripts() -> dict[str, Any]:
    """Call transcript templates by intent."""
    return load("transcripts")  # type: ignore[no-any-return]


def scope() -> dict[str, Any]:
    """The scope item catalogue, per-loss room and item choices, room dimension ranges."""
    return load("scope_items")  # type: ignore[no-any-return]


def content() -> dict[str, Any]:
    """Marketing copy: services, blog titles, video scripts, social posts, reviews, sequences."""
    return load("content")  # type: ignore[no-any-return]


def people() -> dict[str, Any]:
    """Lead and prospect wording: pain points, reasoning, agents, vendors, company patterns."""
    return load("people")  # type: ignore[no-any-return]
