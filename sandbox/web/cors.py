"""CORS for browser callers (the docs' try-it-out, partners' front ends).

Preflights are answered before routing, authentication and rate limiting, on every path, and
every response — errors included — carries the CORS headers, so a browser script can read a
401, 404 or 429 envelope and the rate-limit and request-id headers.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, request

from ..base.settings import Settings
from ..base.spec import load_spec

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Prefer", "X-Correlation-Id")
EXPOSED_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "X-Request-Id",
    "X-Correlation-Id",
    "Preference-Applied",
)
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_AGE_SECONDS = 600


class OriginPolicy:
    """Which origins may call: ``*`` (the sandbox default) or a comma-separated list."""

    def __init__(self, setting: str | Iterable[str]) -> None:
        entries = setting.split(",") if isinstance(setting, str) else list(setting)
        self.origins = {entry.strip().rstrip("/") for entry in entries if entry.strip()}
        self.any = "*" in self.origins or not self.origins

    def allow_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for a request's ``Origin``, or None."""
        if self.any:
            return "*"
        return origin if origin and origin.rstrip("/") in self.origins else None


def allowed_headers() -> tuple[str, ...]:
    """The fixed list plus every header parameter the spec declares."""
    fixed = {header.lower() for header in ALLOWED_HEADERS}
    extra = [name for name in load_spec().header_parameters if name.lower() not in fixed]
    return (*ALLOWED_HEADERS, *extra)


def init_app(app: Flask, settings: Settings) -> None:
    """Answer preflights and expose the rate-limit and request-id headers."""
    policy = OriginPolicy(app.config.get("CORS_ORIGINS") or settings.CORS_ORIGINS)
    preflight_headers = {
        "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
        "Access-Control-Allow-Headers": ", ".join(allowed_headers()),
        "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
    }
    exposed = ", ".join(EXPOSED_HEADERS)

    @app.before_request
    def answer_preflight() -> Response | None:
        # Before the view runs: a preflight needs no key and spends no rate-limit quota.
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = Response(status=204)
            del response.headers["Content-Type"]  # no body, so no type
            if policy.allow_origin(request.headers.get("Origin")):
                response.headers.update(preflight_headers)
            return response
        return None

    @app.after_request
    def add_cors_headers(response: Response) -> Response:
        allowed = policy.allow_origin(request.environ.get("HTTP_ORIGIN"))  # not EnvironHeaders: it raises and catches
        if not policy.any:
            response.vary.add("Origin")
        if allowed is not None:  # no view sets these, so add (an append) rather than set (a scan)
            response.headers.add("Access-Control-Allow-Origin", allowed)
            response.headers.add("Access-Control-Expose-Headers", exposed)
        return response
