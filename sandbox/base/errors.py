"""The one error path, without any web framework.

Every error the sandbox returns is ``{"error": {"code", "message", "details"}}``. Handlers and the
request pipeline raise an ``ApiError``; the web layer renders it (``sandbox.web.app``). The tree::

    ApiError
    ├── BadRequest (400)         bad_request
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
    ├── RateLimited (429)        rate_limited       (Retry-After, X-RateLimit-*)
    │   └── QuotaExceeded        quota_exceeded     details.quota, limit, how_to_free
    └── InjectedFault (5xx)      from scenarios / Prefer; never from a bug

``STATUS_CODES`` is the one table from an HTTP status to its stable code, and ``error_for_status``
the one factory that makes the right error for a status.
"""

from __future__ import annotations

from typing import Any

import orjson

# The stable machine code of every status the sandbox (or the HTTP server in front of it) answers.
STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    410: "url_expired",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    417: "expectation_failed",
    422: "validation_error",
    429: "rate_limited",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "service_unavailable",
    505: "http_version_not_supported",
}


def code_for_status(status: int, reason: str = "") -> str:
    """The stable code of ``status``; an unlisted one is named after its reason phrase."""
    known = STATUS_CODES.get(status)
    if known is not None:
        return known
    return "".join(c if c.isalnum() else "_" for c in reason.lower()) or "error"


class ApiError(Exception):
    """An error with its HTTP status, stable machine code and human message."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
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

    def body(self) -> bytes:
        return orjson.dumps(self.envelope())


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


class QuotaExceeded(RateLimited):
    """A sandbox reached one of its quotas; the details name it, its limit and how to free it."""

    code = "quota_exceeded"

    def __init__(
        self,
        quota: str,
        limit: int,
        how_to_free: str,
        *,
        retry_after: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        super().__init__(
            f"Quota '{quota}' of {limit} reached: {how_to_free}",
            details={"quota": quota, "limit": limit, "how_to_free": how_to_free, **(details or {})},
            headers=headers,
        )


class InjectedFault(ApiError):
    """A failure a scenario or a ``Prefer`` header asked for."""

    code = "injected_fault"


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
}


def error_for_status(
    status: int, message: str, *, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> ApiError:
    """The ``ApiError`` that fits ``status``, with its stable code: the one factory for forced errors."""
    details, headers = dict(details or {}), dict(headers or {})
    if status == 400:
        error: ApiError = ValidationFailed([field_error("request", message, "forced")])
        error.details.update(details)
    elif status in _BY_STATUS:
        error = _BY_STATUS[status](message, details=details)
    elif status >= 500:
        error = InjectedFault(message, status=status, details=details)
    else:
        error = ApiError(message, status=status, code=code_for_status(status), details=details)
    error.headers.update(headers)
    return error


def rate_limited(
    message: str,
    *,
    limit: int,
    window_seconds: int,
    retry_after: int,
    reset_at: int,
    details: dict[str, Any] | None = None,
) -> RateLimited:
    """The one 429: the limit and window in the details, ``Retry-After`` and a spent ``X-RateLimit-*``.

    ``reset_at`` is wall-clock unix seconds, like every timestamp a client compares with its own clock.
    """
    return RateLimited(
        message,
        details={
            "limit": limit,
            "window_seconds": window_seconds,
            "retry_after_seconds": retry_after,
            **(details or {}),
        },
        headers={
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset_at),
            "Retry-After": str(retry_after),
        },
    )


def field_error(location: str, message: str, rule: str = "invalid") -> dict[str, str]:
    return {"location": location, "message": message, "rule": rule}


def server_error_body(status: int, reason: str, message: str = "") -> bytes:
    """The envelope for HTTP a server rejects before any app code runs (a bad request line,
    oversized headers): the same shape as every other error, its code from ``STATUS_CODES``."""
    text = f"{reason}: {message}" if message and message != reason else reason
    return orjson.dumps({"error": {"code": code_for_status(status, reason), "message": text, "details": {}}})
