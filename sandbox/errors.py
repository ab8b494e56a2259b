"""The one error path.

Every error the sandbox returns is ``{"error": {"code", "message", "details"}}``. Handlers and
middleware raise an ``ApiError``; ``render`` is the only function that turns one into a
response. The tree::

    ApiError
    ├── BadRequest (400)
    │   ├── ValidationFailed     validation_error   details.fields = [{location, message, rule}]
    │   ├── InvalidJson          invalid_json
    │   └── InvalidCursor        invalid_cursor
    ├── Unauthorized (401)       unauthorized       (WWW-Authenticate: Bearer)
    │   └── LiveKeyRefused       live_key_refused
    ├── Forbidden (403)          forbidden          details.required_scope
    ├── NotFound (404)           not_found
    ├── MethodNotAllowed (405)   method_not_allowed details.allowed
    ├── Conflict (409)           conflict / suppressed_recipient
    ├── PayloadTooLarge (413)    payload_too_large
    ├── UnsupportedMediaType (415) unsupported_media_type
    ├── RateLimited (429)        rate_limited       (Retry-After)
    └── InjectedFault (5xx)      from scenarios / Prefer; never from a bug
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response


class ApiError(Exception):
    """An error with its HTTP status, stable machine code and human message."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, code: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class ValidationFailed(BadRequest):
    code = "validation_error"

    def __init__(self, fields: list[dict[str, str]]) -> None:
        first = fields[0]
        more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
        super().__init__(f"{first['location']}: {first['message']}{more}", details={"fields": fields})


class InvalidJson(BadRequest):
    code = "invalid_json"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="eal-sandbox"'})
        super().__init__(message, **kwargs)


class LiveKeyRefused(Unauthorized):
    code = "live_key_refused"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class InjectedFault(ApiError):
    """A failure a scenario or a ``Prefer`` header asked for."""

    code = "injected_fault"


def field_error(location: str, message: str, rule: str = "invalid") -> dict[str, str]:
    return {"location": location, "message": message, "rule": rule}


def render(error: ApiError) -> Response:
    """Turn an ``ApiError`` into the JSON envelope response."""
    response = Response(orjson.dumps(error.envelope()), status=error.status,
                        mimetype="application/json")
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


# Codes for what the front door or werkzeug's server answer themselves; their reason phrases differ
# ("URI Too Long" / "Request-URI Too Long"), the codes must not.
SERVER_ERROR_CODES = {400: "bad_request", 403: "forbidden", 408: "request_timeout", 414: "uri_too_long",
                      417: "expectation_failed", 431: "request_header_fields_too_large", 500: "internal_error",
                      501: "not_implemented", 505: "http_version_not_supported"}


def server_error_body(status: int, reason: str, message: str = "") -> bytes:
    """The envelope for HTTP a server rejects before any app code runs (a bad request line,
    oversized headers): the same shape as every other error, its code named after the reason."""
    code = SERVER_ERROR_CODES.get(status) or "".join(c if c.isalnum() else "_" for c in reason.lower())
    text = f"{reason}: {message}" if message and message != reason else reason
    return orjson.dumps({"error": {"code": code, "message": text, "details": {}}})
