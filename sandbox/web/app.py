"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import cache
from types import FunctionType
from typing import Any

import redis
from flask import Flask, Response, g, request
from openapi_core import Config, OpenAPI
from werkzeug.exceptions import HTTPException

from ..base import errors
from ..base.redis_lock import LockLost, LockTimeout
from ..base.redis_transactions import SandboxGone
from ..base.settings import Settings
from ..base.spec import load_spec
from ..composition import Runtime, build_runtime
from ..services.bundle import SandboxServices
from ..services.validation import FORMAT_CHECKS
from . import cors, docs
from .routing import BODY_TOO_LARGE, CORRELATION_ENVIRON, CORRELATION_HEADER, new_request_id, register, render_error

MAX_BODY_BYTES = 1024 * 1024
log = logging.getLogger("sandbox")


def _as_text(data: Any, **_: Any) -> Any:
    return data.decode("utf-8") if isinstance(data, bytes) else data


def _as_binary_string(data: Any, **_: Any) -> Any:
    # openapi-core has no deserializer for binary media; `format: binary` strings hold bytes.
    return data.decode("latin-1") if isinstance(data, bytes) else data


@cache
def reference_openapi() -> OpenAPI:
    """The spec loaded and checked by openapi-core, the reference validator (once per process)."""
    deserializers: dict[str, Callable[[bytes], Any]] = {
        "text/csv": _as_text,
        "text/plain": _as_text,
        "text/event-stream": _as_text,
        "audio/wav": _as_binary_string,
        "application/pdf": _as_binary_string,
    }
    return OpenAPI.from_dict(
        load_spec().copy(),
        config=Config(extra_format_validators=FORMAT_CHECKS, extra_media_type_deserializers=deserializers),
    )


class SandboxFlask(Flask):
    """Flask, with a plain OPTIONS (not a CORS preflight) answered 204 + ``Allow`` rather than an
    empty ``text/html`` 200, and whether a view or hook is a coroutine asked once per function."""

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        # ``//`` in a path is not folded into ``/`` with a 308 and Werkzeug's HTML page (Flask answers
        # routing redirects itself, past the error handlers): ``/api/v1/webhooks//deliveries`` would
        # be sent on to the webhook ``deliveries``. It matches no route: a 404 envelope.
        self.url_map.merge_slashes = False
        for rule in self.url_map.iter_rules():
            rule.merge_slashes = False
        self._checked_sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's, remembered per function: it asks ``inspect`` four times a request otherwise."""
        if not isinstance(func, FunctionType):  # a bound method or partial is new each time: not kept
            return super().ensure_sync(func)
        checked = self._checked_sync.get(func)
        if checked is None:
            checked = self._checked_sync[func] = super().ensure_sync(func)
        return checked

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]
        return response


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a sandbox app: spec checked, routes generated, world seeded."""
    app = SandboxFlask("sandbox")
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    app.config.update(config or {})
    reference_openapi()
    runtime = build_runtime(Settings.from_mapping(app.config))
    app.extensions["eal_sandbox"] = runtime
    register(app, runtime)
    _serve_spec(app)
    _init_errors(app)
    _init_request_ids(app, runtime)
    docs.init_app(app)
    cors.init_app(app, runtime.settings)
    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["eal_sandbox"]  # type: ignore[no-any-return]


def sandbox_of(app: Flask) -> SandboxServices:
    """The sandbox the app made at start-up."""
    return runtime_of(app).sandbox


def _serve_spec(app: Flask) -> None:
    """/openapi.json|yaml: the v1 API; /_sandbox/openapi.json|yaml: the sandbox's control plane."""
    for prefix, (as_json, as_yaml) in load_spec().served_documents.items():
        name = "sandbox_openapi" if prefix else "openapi"
        app.add_url_rule(
            f"{prefix}/openapi.json",
            f"{name}_json",
            methods=["GET"],
            view_func=lambda body=as_json: Response(body, mimetype="application/json"),
        )
        app.add_url_rule(
            f"{prefix}/openapi.yaml",
            f"{name}_yaml",
            methods=["GET"],
            view_func=lambda body=as_yaml: Response(body, mimetype="application/yaml"),
        )


def _init_errors(app: Flask) -> None:
    @app.errorhandler(errors.ApiError)
    def api_error(error: errors.ApiError) -> Response:
        return render_error(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return render_error(_from_werkzeug(error))

    @app.errorhandler(redis.RedisError)
    def store_unavailable(error: redis.RedisError) -> Response:
        # Fleet mode: Redis is down, unreachable, or refused the write (out of memory). What a request
        # writes to records is one transaction: it was stored whole or not at all.
        log.warning("store unavailable on %s %s: %s", request.method, request.path, error)
        return _retry_shortly(f"The sandbox's store is unavailable ({type(error).__name__}: {str(error)[:200]})")

    @app.errorhandler(LockLost)
    @app.errorhandler(LockTimeout)
    def store_contended(error: LockLost | LockTimeout) -> Response:
        # Fleet mode: the sandbox's lock was held past the wait, or expired before this request's
        # commit (a DELETE of the sandbox racing it, a stalled process): nothing of it was written.
        log.warning("store contended on %s %s: %s", request.method, request.path, error)
        return _retry_shortly(
            f"The sandbox was busy with another request and nothing of this one was written ({type(error).__name__})"
        )

    @app.errorhandler(SandboxGone)
    def sandbox_gone(error: SandboxGone) -> Response:
        # Fleet mode: the key's sandbox was deleted (through any process) while this request ran; as
        # its keys are unknown from then on, so is this request's: a 401, with nothing written.
        return render_error(
            errors.Unauthorized("The API key's sandbox was deleted while this request ran; nothing of it was written")
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(
            errors.ApiError(
                "The sandbox hit an internal error; this is a sandbox bug, please report it",
                details={"request_id": request_id()},
            )
        )


def _retry_shortly(why: str) -> Response:
    """503 ``service_unavailable`` with ``Retry-After: 1``: a fleet's store failed this request for now."""
    return render_error(
        errors.ApiError(
            f"{why}; retry shortly",
            status=503,
            code="service_unavailable",
            details={"request_id": request_id()},
            headers={"Retry-After": "1"},
        )
    )


def _from_werkzeug(error: HTTPException) -> errors.ApiError:
    status = error.code or 500
    if status == 404:
        return errors.NotFound(
            f"No route for {request.method} {request.path}: see /openapi.yaml", details={"path": request.path}
        )
    if status == 405:
        allowed = sorted(getattr(error, "valid_methods", None) or [])
        return errors.MethodNotAllowed(
            f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}",
            details={"allowed": allowed},
            headers={"Allow": ", ".join(allowed)},
        )
    if status == 413:
        return errors.PayloadTooLarge(BODY_TOO_LARGE)
    if status == 415:
        return errors.UnsupportedMediaType("Content-Type must be application/json")
    if status == 400:
        return errors.BadRequest(error.description or "Bad request")
    return errors.ApiError(
        error.description or "error", status=status, code=errors.code_for_status(status, error.name or "")
    )


def request_id() -> str:
    """This request's id, made on first use."""
    if "request_id" not in g:
        g.request_id = new_request_id()
    return str(g.request_id)


def _init_request_ids(app: Flask, runtime: Runtime) -> None:
    @app.after_request
    def stamp(response: Response) -> Response:
        served = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not six
        found = g._get_current_object()  # what the request left in g, looked up once
        headers = response.headers
        headers.add("X-Request-Id", request_id())
        # getlist, not get or `in`: on a missing header those raise and catch an exception.
        answered = headers.getlist(CORRELATION_HEADER)
        correlation: str | None
        if answered:
            correlation = answered[0]
        else:
            correlation = served.environ.get(CORRELATION_ENVIRON) or None
            if correlation:
                headers.add(CORRELATION_HEADER, correlation)
        sandbox: SandboxServices = found.get("sandbox") or runtime.sandbox
        if sandbox.destroyed.is_set():  # the request deleted its own sandbox: an entry would bring its keys back
            return response
        try:
            sandbox.journal.record(
                {
                    "request_id": found.request_id,
                    "organization_id": found.get("org_id"),
                    "method": served.method,
                    "path": served.path,
                    "operation_id": served.endpoint,
                    "status": response.status_code,
                    "correlation_id": correlation,
                    "at": found.get("answered_at") or sandbox.clock.now(),
                }
            )
        except redis.RedisError as error:  # the answer stands; only its journal entry is lost
            log.warning("journal entry of %s lost: %s", found.request_id, error)
        return response
