"""The sandbox's settings: Flask-style upper-case keys, each with a documented default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from .clock import parse_iso


@dataclass(frozen=True)
class Settings:
    SEED: int = 42                       # the world seed: same seed, same world
    LEADS_PER_ORG: int = 300             # leads seeded per child location
    RATE_LIMIT: int = 6000               # requests per key per window: an ordinary CI suite never trips it
    RATE_LIMIT_WINDOW: int = 60          # seconds
    CLOCK_START: datetime | None = None  # None = real time; else the clock starts here
    CLOCK_FROZEN: bool = False           # True = time moves only when advanced
    CLAIM_EXTRACTION_SECONDS: int = 300  # a new claim is ready this long after creation
    WEBHOOK_RETRY_BASE: float = 1.0      # seconds before the first retry, doubled each time
    WEBHOOK_MAX_ATTEMPTS: int = 6
    WEBHOOK_TIMEOUT: float = 5.0         # seconds per delivery attempt
    ALLOW_PRIVATE_WEBHOOKS: bool = False  # self-hosted opt-in: private ranges (never link-local/metadata)
    CORS_ORIGINS: str = "*"
    SANDBOX_TTL: int = 7200              # seconds a created sandbox lives idle before it expires (use extends it)
    REPRODUCIBLE_IDS: bool = False       # True = run-time ids and secrets seeded from SEED (snapshot tests only)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> Settings:
        """Pick the known keys out of a Flask config, converting strings where needed."""
        values: dict[str, Any] = {}
        for spec_field in fields(cls):
            if config.get(spec_field.name) is None:
                continue
            value = config[spec_field.name]
            if spec_field.name == "CLOCK_START" and isinstance(value, str):
                value = parse_iso(value)
            values[spec_field.name] = value
        return cls(**values)
