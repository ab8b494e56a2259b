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


def format_duration(delta: timedelta) -> str:
    """The shortest spelling ``parse_duration`` reads back: ``7200 s`` → ``2h``, ``90.5 s`` → ``1m30.5s``."""
    milliseconds = round(delta.total_seconds() * 1000)
    if milliseconds < 0:
        raise ValueError("a duration is never negative")
    days, rest = divmod(milliseconds, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds}s" if rest else "",
    ]
    return "".join(parts) or "0s"
