"""The sandbox's settings: Flask-style upper-case keys, each with a documented default.

Defaults suit a laptop or a CI job. ``HOSTED=True`` (``eal-sandbox serve --hosted``) is a server
anyone can reach: every setting listed in ``HOSTED_DEFAULTS`` then takes the value there, unless
it was set explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from .clock import parse_iso


@dataclass(frozen=True)
class Settings:
    SEED: int = 42  # the world seed: same seed, same world
    LEADS_PER_ORG: int = 300  # leads seeded per child location
    RATE_LIMIT: int = 6000  # requests per sandbox per window (not per key): CI never trips it
    RATE_LIMIT_WINDOW: int = 60  # seconds
    CLOCK_START: datetime | None = None  # None = real time; else the clock starts here
    CLOCK_FROZEN: bool = False  # True = time moves only when advanced
    CLAIM_EXTRACTION_SECONDS: int = 300  # a new claim is ready this long after creation
    WEBHOOK_RETRY_BASE: float = 1.0  # seconds before the first retry, doubled each time
    WEBHOOK_MAX_ATTEMPTS: int = 6
    WEBHOOK_TIMEOUT: float = 5.0  # seconds for a whole delivery attempt: connect, send, full response
    WEBHOOK_WORKERS: int = 8  # delivery threads shared by every sandbox of the process
    WEBHOOK_ENDPOINT_IN_FLIGHT: int = 2  # attempts in flight to one endpoint (host and port) at once
    ALLOW_PRIVATE_WEBHOOKS: bool = False  # self-hosted opt-in: private ranges (never link-local/metadata)
    CORS_ORIGINS: str = "*"
    SANDBOX_TTL: int = 7200  # seconds a created sandbox lives idle before it expires (use extends it)
    REPRODUCIBLE_IDS: bool = False  # True = run-time ids and secrets seeded from SEED (snapshot tests only)
    STORE: str = "memory"  # memory (this process) or redis://HOST:PORT/DB (a fleet of processes)
    WEBHOOK_RECLAIM_SECONDS: float = 30.0  # fleet: a dead process's delivery jobs go to another after this
    STORE_TIMEOUT: float = 5.0  # fleet: seconds a Redis command may take before the request answers 503
    # Hosting: a public try-it-out or a shared CI server (README, "Hosting").
    HOSTED: bool = False  # no public keys (/_sandbox/keys is 404), the hosted quotas below
    TRUSTED_PROXIES: str = ""  # addresses whose X-Forwarded-For names the client (comma-separated)
    MAX_SANDBOXES: int = 10_000  # live sandboxes; past it the longest-idle one is evicted
    MAX_SEEDED_WORLDS: int = 32  # distinct (seed, size) worlds built at once
    SANDBOX_CREATIONS_PER_MINUTE: int = 600  # POST /_sandbox/sandboxes per client address
    KEYLESS_REQUESTS_PER_MINUTE: int = 6000  # requests without a key per client address
    # Quotas per sandbox: over one, 429 quota_exceeded names it, its limit and how to free it.
    QUOTA_RECORDS_PER_KIND: int = 100_000  # records a sandbox may add of one kind (leads, events, audit…)
    QUOTA_ORGANIZATIONS: int = 100  # organizations created through the API
    QUOTA_WEBHOOKS: int = 100  # webhook subscriptions
    QUOTA_ROTATIONS_IN_OVERLAP: int = 5  # previous secrets of one subscription still verifying
    QUOTA_EVENTS_PER_MINUTE: int = 60_000  # webhook events emitted per (wall-clock) minute
    QUOTA_SCENARIO_RECORDS: int = 5_000  # records one scenario timeline may create (steps × counts)
    QUOTA_LATENCY_MS: int = 30_000  # the longest delay a scenario may add to one request
    QUOTA_CONCURRENT_REQUESTS: int = 0  # requests of one sandbox in progress at once (0: no cap)
    QUOTA_JOURNAL_BYTES: int = 16 * 2**20  # request journal kept per sandbox (the oldest entries go first)
    MAX_CORRELATION_ID: int = 256  # characters of X-Correlation-Id (longer: 400)
    # Event streams (GET /_sandbox/events/stream: `eal-sandbox listen`, /docs/webhooks). Each open
    # stream holds a server thread: `serve` runs this many threads on top of its request threads.
    STREAMS_MAX: int = 8  # streams open on the server at once
    STREAMS_PER_SANDBOX: int = 3  # streams open for one sandbox at once
    STREAM_BACKLOG: int = 1000  # events kept per sandbox to resume from (Last-Event-ID)
    STREAM_KEEPALIVE: float = 15.0  # seconds between keep-alive comments on an idle stream
    STREAM_LIFETIME: float = 3600.0  # seconds one stream lasts; the client then resumes where it was
    INSPECTOR_ATTEMPTS: int = 200  # delivery attempts kept per sandbox for the inspector

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> Settings:
        """Pick the known keys out of a Flask config, converting strings where needed; a hosted
        configuration takes ``HOSTED_DEFAULTS`` for whatever it leaves unset."""
        values: dict[str, Any] = {}
        for spec_field in fields(cls):
            if config.get(spec_field.name) is None:
                continue
            value = config[spec_field.name]
            if spec_field.name == "CLOCK_START" and isinstance(value, str):
                value = parse_iso(value)
            values[spec_field.name] = value
        if values.get("HOSTED"):
            values = {**HOSTED_DEFAULTS, **values}
        return cls(**values)


ENV_PREFIX = "EAL_SANDBOX_"  # every setting can be given as EAL_SANDBOX_<NAME> to ``eal-sandbox serve``
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def settings_from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings named by ``EAL_SANDBOX_<NAME>`` variables, typed as the setting is; a value that
    does not parse is a ``ValueError`` naming the variable."""
    found: dict[str, Any] = {}
    for spec_field in fields(Settings):
        raw = environ.get(ENV_PREFIX + spec_field.name)
        if raw is None:
            continue
        kind = str(spec_field.type)
        try:
            if kind == "bool":
                if raw.strip().lower() not in _TRUE | _FALSE:
                    raise ValueError("expected true or false")
                found[spec_field.name] = raw.strip().lower() in _TRUE
            elif kind == "int":
                found[spec_field.name] = int(raw)
            elif kind == "float":
                found[spec_field.name] = float(raw)
            elif kind.startswith("datetime"):
                found[spec_field.name] = parse_iso(raw) if raw else None
            else:
                found[spec_field.name] = raw
        except ValueError as error:
            raise ValueError(f"{ENV_PREFIX}{spec_field.name}={raw!r}: {error}") from None
    return found


# What a server anyone can reach defaults to (each still overridable).
HOSTED_DEFAULTS: dict[str, Any] = {
    "RATE_LIMIT": 1200,  # 20 requests per second per sandbox
    "MAX_SANDBOXES": 2000,
    "MAX_SEEDED_WORLDS": 4,
    "SANDBOX_CREATIONS_PER_MINUTE": 10,
    "KEYLESS_REQUESTS_PER_MINUTE": 300,
    "QUOTA_RECORDS_PER_KIND": 5_000,
    "QUOTA_ORGANIZATIONS": 20,
    "QUOTA_WEBHOOKS": 10,
    "QUOTA_EVENTS_PER_MINUTE": 600,
    "QUOTA_SCENARIO_RECORDS": 500,
    "QUOTA_LATENCY_MS": 5_000,
    "QUOTA_CONCURRENT_REQUESTS": 2,
    "QUOTA_JOURNAL_BYTES": 1 * 2**20,
    "MAX_CORRELATION_ID": 128,
    "STREAMS_MAX": 32,
    "STREAMS_PER_SANDBOX": 2,
    "STREAM_BACKLOG": 200,
    "INSPECTOR_ATTEMPTS": 50,
}
