"""Routes generated from ``openapi.yaml``: one Flask rule per operation, each handing the request to
the pipeline (``sandbox.operations.pipeline``). There is no hand-written route table.

This module is the adapter between HTTP as Flask and the WSGI server see it and the framework-free
pipeline: it reads what the pipeline asks for (headers from the WSGI environ, the query string, the
JSON body with its size and media-type checks) and turns the pipeline's ``Reply`` into a response.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from flask import Flask, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from ..base.errors import (
    ApiError,
    BadRequest,
    InvalidJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from ..base.reply import Reply
from ..base.spec import Operation
from ..composition import Runtime
from ..operations.pipeline import Incoming
from ..services.signed_urls import SANDBOX_PARAMETER
from .clients import Network, client_address, trusted_networks

CORRELATION_HEADER = "X-Correlation-Id"
CORRELATION_ENVIRON = "HTTP_X_CORRELATION_ID"
BODY_TOO_LARGE = "Request body is larger than the 1 MiB limit"
MAX_JSON_DEPTH = 32  # no body of the API nests deeper than a few levels; validators recurse on depth


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
    literals = sorted(
        other.rpartition("/")[2]
        for other in paths
        if other.rpartition("/")[0] == head and "{" not in other.rpartition("/")[2]
    )
    rule = operation.flask_rule
    if last.startswith("{") and literals:
        quoted = ", ".join(repr(literal) for literal in literals)
        rule = rule.rpartition("/")[0] + f"/<not_literal({quoted}):{last.strip('{}')}>"
    return rule


def query_values(environ: dict[str, Any]) -> dict[str, str]:
    """A request's query parameters by name, the first of each as ``request.args`` reads it (the
    same parse), without building werkzeug's MultiDict: the validator reads one value per name."""
    text = environ.get("QUERY_STRING", "")
    values: dict[str, str] = {}
    if text:
        for name, value in parse_qsl(
            text.encode("latin-1").decode(), keep_blank_values=True, errors="werkzeug.url_quote"
        ):
            values.setdefault(name, value)
    return values


class HeaderValues:
    """A request's headers by name, read from the WSGI environ as werkzeug's ``EnvironHeaders`` reads
    them; what the validator needs of them (a header that is absent costs no raised exception)."""

    __slots__ = ("environ",)

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ

    def __contains__(self, name: str) -> bool:
        return _environ_key(name) in self.environ

    def __getitem__(self, name: str) -> str:
        value: str = self.environ[_environ_key(name)]
        return value


def _environ_key(name: str) -> str:
    key = name.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"


def register(app: Flask, runtime: Runtime) -> None:
    """Add one Flask rule per operation of the spec."""
    app.url_map.converters["not_literal"] = NotLiteral
    operations = [registered.operation for registered in runtime.registry]
    paths = {operation.path for operation in operations}
    max_body = int(app.config["MAX_CONTENT_LENGTH"])
    proxies = trusted_networks(runtime.settings.TRUSTED_PROXIES)
    for operation in operations:
        app.add_url_rule(
            flask_rule(operation, paths),
            endpoint=operation.id,
            view_func=_view(operation, runtime, max_body, proxies),
            methods=[operation.method],
        )


def _view(
    operation: Operation, runtime: Runtime, max_body: int, proxies: tuple[Network, ...]
) -> Callable[..., Response]:
    pipeline, operation_id = runtime.pipeline, operation.id
    keyless = operation.scope is None  # only a keyless request names its sandbox (a signed URL does)

    def view(**path: str) -> Response:
        served = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, and kept past the request
        environ = served.environ  # headers read from the WSGI environ: EnvironHeaders.get raises and catches
        incoming = Incoming(
            operation_id,
            path,
            query=lambda: query_values(environ),
            headers=lambda: HeaderValues(environ),
            body=lambda: _read_json(environ, max_body),
            base_url=lambda: served.host_url.rstrip("/"),
            authorization=environ.get("HTTP_AUTHORIZATION"),
            prefer=environ.get("HTTP_PREFER"),
            correlation_id=environ.get(CORRELATION_ENVIRON),
            acting_organization=environ.get("HTTP_X_EAL_ORGANIZATION"),
            sandbox_id=served.args.get(SANDBOX_PARAMETER) if keyless else None,
            client_address=client_address(environ, proxies),
        )
        exchange = pipeline.exchange(incoming)
        try:
            reply = pipeline.run(exchange)
        finally:  # the journal (after_request) records the request in its sandbox, under its organization
            g.sandbox = exchange.sandbox
            g.org_id = None if exchange.key is None else exchange.key["organization_id"]
            g.answered_at = exchange.answered_at
        return respond(reply)

    view.__name__ = operation_id
    return view


def respond(reply: Reply) -> Response:
    """The response of a ``Reply``: JSON encoded with orjson, every header appended."""
    payload = orjson.dumps(reply.body) if reply.mimetype == "application/json" else reply.body
    response = Response(payload, status=reply.status, mimetype=reply.mimetype)
    # A fresh response holds only Content-Type and Content-Length: append, no need to replace.
    response.headers.extend(reply.headers)
    return response


def render_error(error: ApiError) -> Response:
    """The error envelope response of an ``ApiError``."""
    response = Response(error.body(), status=error.status, mimetype="application/json")
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _read_json(environ: dict[str, Any], max_bytes: int) -> Any:
    """The parsed JSON body (None when none was sent), or the right 400/413/415."""
    raw = _raw_body(environ, max_bytes)
    if not raw:
        return None
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type != "application/json" and request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type must be application/json (got '{request.mimetype or 'none'}')",
            details={"supported": ["application/json"]},
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidJson(f"Request body is not valid JSON: {error}") from error
    if body is None:
        raise ValidationFailed([field_error("body", "must be a JSON object, not null", "type")])
    if _depth(body) > MAX_JSON_DEPTH:
        raise InvalidJson(f"Request body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep")
    return body


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (iteratively: a hostile body cannot recurse us)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


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
    except Exception as error:  # a malformed chunk or a dropped client, whatever the server raises for it
        raise BadRequest(f"The request body could not be read: {error}") from error


_request_ids = random.Random()  # not the world's generator: request ids are not part of any body


def new_request_id() -> str:
    return f"req_{_request_ids.getrandbits(64):016x}"
