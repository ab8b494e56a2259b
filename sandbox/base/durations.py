"""Durations written the way people say them: ``90s``, ``5m``, ``24h``, ``7d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$"


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` → 90 minutes; raises ValueError on anything else."""
    cleaned = text.strip().lower()
    if not re.fullmatch(PATTERN, cleaned):
        raise ValueError(f"'{text}' is not a duration like 90s, 5m, 24h or 7d")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(cleaned))
    return timedelta(seconds=seconds)
