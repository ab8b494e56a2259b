"""Routes generated from ``openapi.yaml``: each operation is served by the function named by
its ``operationId`` in ``sandbox.resources.<tag>``. There is no hand-written route table."""

from __future__ import annotations

import functools
import importlib
import random
import re
from collections.abc import Callable
from typing import Any

import orjson
from flask import Flask, Response, g, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from .auth import require_scope
from .call import Call, Reply
from .delegation import acting_organization
from .errors import (
    ApiError,
    BadRequest,
    InvalidJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
    render,
)
from .runtime import Sandbox
from .spec import Operation, load_spec, operations
from .validation import RequestValidator

Handler = Callable[[Call], Any]
CORRELATION_HEADER = "X-Correlation-Id"
CORRELATION_ENVIRON = "HTTP_X_CORRELATION_ID"
BODY_TOO_LARGE = "Request body is larger than the 1 MiB limit"


def find_handler(operation: Operation) -> Handler:
    """The resource function for an operation; a missing one stops start-up."""
    module = importlib.import_module(operation.handler_module)
    handler = getattr(module, operation.id, None)
    if handler is None:
        raise LookupError(f"{operation.handler_module} has no {operation.id}() "
                          f"for {operation.method} {operation.path}")
    return handler  # type: ignore[no-any-return]


@functools.cache
def _validators() -> dict[str, RequestValidator]:
    """Compiled request validators for every operation, built once per process."""
    spec = load_spec()
    return {op.id: RequestValidator(op, spec.get("components", {})) for op in operations(spec)}


class NotLiteral(BaseConverter):
    """A path segment that is anything but the given literals.

    ``/organizations/{id}`` must not swallow ``/organizations/me``: with this converter
    ``PATCH /organizations/me`` is a 405 (and OPTIONS advertises only GET), not a bad-id 400.
    """

    def __init__(self, url_map: Any, *literals: str) -> None:
        super().__init__(url_map)
        alternatives = "|".join(re.escape(literal) for literal in literals)
        self.regex = f"(?!(?:{alternatives})$)[^/]+"


def flask_rule(operation: Operation, paths: set[str]) -> str:
    """The Flask rule of an operation, keeping its templated last segment off static siblings."""
    head, _, last = operation.path.rpartition("/")
    literals = sorted(other.rpartition("/")[2] for other in paths
                      if other.rpartition("/")[0] == head and "{" not in other.rpartition("/")[2])
    rule = operation.flask_rule
    if last.startswith("{") and literals:
        quoted = ", ".join(repr(literal) for literal in literals)
        rule = rule.rpartition("/")[0] + f"/<not_literal({quoted}):{last.strip('{}')}>"
    return rule


def register(app: Flask, sandbox: Sandbox) -> None:
    """Add one Flask rule per operation of the spec."""
    validators = _validators()
    app.url_map.converters["not_literal"] = NotLiteral
    paths = {validator.operation.path for validator in validators.values()}
    max_body = int(app.config["MAX_CONTENT_LENGTH"])
    for validator in validators.values():
        operation = validator.operation
        view = _view(operation, validator, find_handler(operation), sandbox, max_body)
        app.add_url_rule(flask_rule(operation, paths), endpoint=operation.id, view_func=view,
                         methods=[operation.method])


def _read_json(environ: dict[str, Any], max_bytes: int) -> Any:
    """The parsed JSON body (None when none was sent), or the right 400/413/415."""
    raw = _raw_body(environ, max_bytes)
    if not raw:
        return None
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type != "application/json" and request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type must be application/json (got '{request.mimetype or 'none'}')",
            details={"supported": ["application/json"]})
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidJson(f"Request body is not valid JSON: {error}") from error
    if body is None:
        raise ValidationFailed([field_error("body", "must be a JSON object, not null", "type")])
    return body


def _raw_body(environ: dict[str, Any], max_bytes: int) -> bytes:
    """The request body, at most ``max_bytes`` (else 413), read straight from the server's input.

    werkzeug's stream wrapper costs more than the JSON parse, and with a chunked body it hands
    back the first ``max_bytes`` silently; so: a plain Content-Length is read exactly, a body the
    server has de-chunked (``wsgi.input_terminated``) is read to one byte past the limit, and
    anything else is left to werkzeug.
    """
    text = environ.get("CONTENT_LENGTH", "")
    try:
        if text.isascii() and text.isdigit() and "HTTP_TRANSFER_ENCODING" not in environ:
            length = int(text) if len(text) <= 10 else max_bytes + 1
            if length > max_bytes:
                raise RequestEntityTooLarge()
            return environ["wsgi.input"].read(length) if length else b""
        if environ.get("wsgi.input_terminated"):
            raw = environ["wsgi.input"].read(max_bytes + 1)
            if len(raw) > max_bytes:
                raise RequestEntityTooLarge()
            return bytes(raw)
        return request.get_data()
    except RequestEntityTooLarge as error:
        raise PayloadTooLarge(BODY_TOO_LARGE) from error
    except (OSError, ValueError, ParseException) as error:  # a malformed chunk or a dropped client
        raise BadRequest(f"The request body could not be read: {error}") from error


def _view(operation: Operation, validator: RequestValidator, handler: Handler,
          sandbox: Sandbox, max_body: int) -> Callable[..., Response]:
    needs_key = operation.scope is not None
    reads_key = operation.reads_key  # keyless operations (security: [{}]) ignore a sent key
    has_body = operation.body_schema is not None
    reads_query = bool(validator.query.parameters)  # an operation without query parameters ignores them

    def view(**path: str) -> Response:
        environ = request.environ  # headers read from the WSGI environ: EnvironHeaders.get raises and catches
        authorization = environ.get("HTTP_AUTHORIZATION")
        key = None
        quota_headers: dict[str, str] = {}
        if needs_key or (authorization and reads_key):
            key = sandbox.keys.authenticate(authorization)
            g.org_id = key["organization_id"]
            quota_headers = sandbox.limiter.hit(key["id"]).headers()
        try:
            if key is not None:
                require_scope(key, operation.scope)
            forced = sandbox.behaviour.intercept(operation, key["organization_id"] if key else None,
                                                 environ.get("HTTP_PREFER"))
            if isinstance(forced, dict):  # a honoured preference the handler's answer must echo
                quota_headers = {**quota_headers, **forced}
            elif forced is not None:
                return _respond(operation, forced, quota_headers, environ.get(CORRELATION_ENVIRON))
            path_values, query = validator.check_parameters(path, request.args if reads_query else {},
                                                            request.headers)
            body = None
            if has_body:
                body = _read_json(environ, max_body)
                validator.check_body(body)
            call = Call(operation, sandbox, path_values, query, body, key, environ.get(CORRELATION_ENVIRON))
            call.acting_org_id = acting_organization(sandbox, operation, key, environ)
            reply = handler(call)
        except ApiError as error:
            error.headers = {**quota_headers, **error.headers}
            raise
        return _respond(operation, reply, quota_headers, call.correlation_id_if_any())

    view.__name__ = operation.id
    return view


def _respond(operation: Operation, reply: Any, headers: dict[str, str], correlation_id: str | None) -> Response:
    if not isinstance(reply, Reply):
        reply = Reply(reply, operation.success_status)
    if reply.mimetype == "application/json":
        payload: Any = orjson.dumps(reply.body)
    else:
        payload = reply.body
    response = Response(payload, status=reply.status, mimetype=reply.mimetype)
    # A fresh response holds only Content-Type and Content-Length: append, no need to replace.
    response.headers.extend({**headers, **reply.headers})
    if correlation_id:
        response.headers.add(CORRELATION_HEADER, correlation_id)
    return response


_request_ids = random.Random()  # not the world's generator: request ids are not part of any body


def new_request_id() -> str:
    return f"req_{_request_ids.getrandbits(64):016x}"


__all__ = ["register", "find_handler", "render", "new_request_id"]
