"""The request pipeline: how an HTTP request to an operation becomes a handler's answer.

The steps run in this order (``RequestPipeline.STEPS``); each may raise an ``ApiError`` (rendered as
the error envelope, carrying the rate-limit headers already earned) or answer in place of the rest:

1. ``authenticate``  the Bearer key, when the operation needs one, or one is sent to an operation that
                     offers a key (``Operation.reads_key``; keyless ``security: [{}]`` ones ignore it) → 401
2. ``admit``         one of the sandbox's requests in progress (``QUOTA_CONCURRENT_REQUESTS``) → 429
3. ``rate_limit``    one request of the sandbox's window (a scenario's, per key, while one is in force);
                     without a key, one of the client address's → 429
4. ``authorize``     the operation's ``x-required-scope`` → 403
5. ``scenario``      the caller's scenario in force: its latency, then an injected fault if one fires
6. ``validate``      path, query and header parameters, the JSON body, ``X-EAL-Organization`` → 400/404/413/415
7. ``prefer``        a ``Prefer`` header's forced answer (code, example, scenario) — only for a valid request
8. ``quota``         a write while the sandbox is over a quota (records of a kind, events a minute) → 429
9. ``invoke``        the operation's handler, through ``OperationRegistry.invoke``

Nothing here knows the web framework: the web layer hands in an ``Incoming`` request and renders the
``Reply`` (or the error) that comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from ..base.errors import ApiError, ValidationFailed, field_error
from ..base.reply import Reply
from ..resources.delegation import acting_organization
from ..resources.request import ApiRequest, Orchestration
from ..services.auth import ApiKey, require_scope
from ..services.bundle import SandboxServices
from ..services.preferences import honour
from ..services.validation import RawValues
from .registry import OperationRegistry, Registered

CORRELATION_HEADER = "X-Correlation-Id"
WRITES = frozenset({"POST", "PUT", "PATCH"})  # what may add records (a DELETE only frees)


class Sandboxes(Protocol):
    """Where a request's sandbox is found (the composition layer's directory of sandboxes)."""

    def authenticate(self, authorization: str | None, scope: ExitStack | None = None) -> tuple[SandboxServices, ApiKey]:
        """The sandbox and key an ``Authorization`` header names, or the 401 saying why not; what the
        request reads of the sandbox every time may be prefetched for as long as ``scope`` lasts."""
        ...

    def anonymous(self, sandbox_id: str | None = None, scope: ExitStack | None = None) -> SandboxServices:
        """The sandbox a request without a key acts in: the one it names (a signed URL's ``sandbox``
        parameter), else the sandbox made at start-up; 404 for one that is gone. What it reads every
        time may be prefetched for as long as ``scope`` lasts."""
        ...

    def limit_anonymous(self, client_address: str) -> None:
        """Count one request without a key from ``client_address``; 429 past the limit."""
        ...


@dataclass(slots=True)
class Incoming:
    """What the web layer read of one HTTP request; query, headers and body are read on demand."""

    operation_id: str
    path: dict[str, str]
    query: Callable[[], RawValues]
    headers: Callable[[], RawValues]
    body: Callable[[], Any]  # the parsed JSON body (None when absent), or the 400/413/415 saying why not
    base_url: Callable[[], str]  # scheme://host, read only by the few handlers that make URLs
    authorization: str | None = None
    prefer: str | None = None
    correlation_id: str | None = None
    acting_organization: str | None = None  # the X-EAL-Organization header
    sandbox_id: str | None = None  # the sandbox a keyless request names (a signed URL's ``sandbox``)
    client_address: str = ""  # who sent it (behind a trusted proxy, the X-Forwarded-For client)


@dataclass(slots=True)
class Exchange:
    """One request going through the pipeline: what each step found so far."""

    registered: Registered
    incoming: Incoming
    sandbox: SandboxServices | None = None
    key: ApiKey | None = None
    headers: dict[str, str] = field(default_factory=dict)  # response headers earned so far
    request: ApiRequest | None = None
    reply: Reply | None = None  # set by the step that answers
    admitted: str | None = None  # its place among its sandbox's requests in progress (a token to give back)
    scope: ExitStack = field(default_factory=ExitStack)  # what lasts as long as the request (its prefetched reads)
    answered_at: datetime | None = None  # the sandbox clock's instant as the request was answered


class RequestPipeline:
    """Runs ``STEPS`` in order for every HTTP request to an operation."""

    STEPS: ClassVar[tuple[str, ...]] = (
        "authenticate",
        "admit",
        "rate_limit",
        "authorize",
        "scenario",
        "validate",
        "prefer",
        "quota",
        "invoke",
    )

    def __init__(
        self,
        registry: OperationRegistry,
        sandboxes: Sandboxes,
        control: Orchestration,
        *,
        max_correlation_id: int = 256,
    ) -> None:
        self.registry, self.sandboxes, self.control = registry, sandboxes, control
        self.max_correlation_id = max_correlation_id
        self._steps: tuple[Callable[[Exchange], None], ...] = tuple(getattr(self, name) for name in self.STEPS)

    def exchange(self, incoming: Incoming) -> Exchange:
        return Exchange(self.registry[incoming.operation_id], incoming)

    def run(self, exchange: Exchange) -> Reply:
        """The reply to the exchange's request, every header included; raises ``ApiError``."""
        try:
            with exchange.scope:
                try:
                    for step in self._steps:
                        step(exchange)
                        if exchange.reply is not None:
                            break
                finally:  # read while the request's snapshot of the clock lasts
                    if exchange.sandbox is not None:
                        exchange.answered_at = exchange.sandbox.clock.now()
        except ApiError as error:
            error.headers = {**exchange.headers, **error.headers}
            raise
        finally:
            if exchange.admitted is not None:
                assert exchange.sandbox is not None
                exchange.sandbox.admission.leave(exchange.admitted)
        reply = exchange.reply
        assert reply is not None, "the invoke step always answers"
        reply.headers = {**exchange.headers, **reply.headers}
        correlation = exchange.request.correlation_id_if_any() if exchange.request else None
        correlation = correlation or exchange.incoming.correlation_id
        if correlation:
            reply.headers[CORRELATION_HEADER] = correlation
        return reply

    # The steps, in order -----------------------------------------------------------------------

    def authenticate(self, exchange: Exchange) -> None:
        operation, authorization = exchange.registered.operation, exchange.incoming.authorization
        if operation.scope is not None or (authorization and operation.reads_key):
            exchange.sandbox, exchange.key = self.sandboxes.authenticate(authorization, exchange.scope)
        else:
            exchange.sandbox = self.sandboxes.anonymous(exchange.incoming.sandbox_id, exchange.scope)

    def admit(self, exchange: Exchange) -> None:
        if exchange.key is not None:  # keyless requests are limited per client address instead
            assert exchange.sandbox is not None
            exchange.admitted = exchange.sandbox.admission.enter()

    def rate_limit(self, exchange: Exchange) -> None:
        if exchange.key is None:
            self.sandboxes.limit_anonymous(exchange.incoming.client_address)
            return
        assert exchange.sandbox is not None
        quota = exchange.sandbox.limits.hit(exchange.key, control=exchange.registered.operation.is_control)
        exchange.headers.update(quota.headers())

    def authorize(self, exchange: Exchange) -> None:
        if exchange.key is not None:
            require_scope(exchange.key, exchange.registered.operation.scope)

    def scenario(self, exchange: Exchange) -> None:
        assert exchange.sandbox is not None
        org_id = None if exchange.key is None else str(exchange.key["organization_id"])
        exchange.sandbox.behaviour.before_handler(exchange.registered.operation, org_id)

    def validate(self, exchange: Exchange) -> None:
        registered, incoming, sandbox = exchange.registered, exchange.incoming, exchange.sandbox
        assert sandbox is not None
        validator, operation = registered.validator, registered.operation
        if incoming.correlation_id is not None and len(incoming.correlation_id) > self.max_correlation_id:
            raise ValidationFailed(
                [
                    field_error(
                        f"header.{CORRELATION_HEADER}",
                        f"is longer than {self.max_correlation_id} characters",
                        "maxLength",
                    )
                ]
            )
        query = incoming.query() if validator.query.parameters else {}  # undeclared query strings are ignored
        headers = incoming.headers() if validator.header.parameters else {}
        path, query_values, header_values = validator.check_all_parameters(incoming.path, query, headers)
        body = None
        if operation.body_schema is not None:
            body = incoming.body()
            validator.check_body(body)
        request = ApiRequest(
            operation,
            sandbox,
            self.control,
            path,
            query_values,
            body,
            exchange.key,
            incoming.base_url,
            incoming.correlation_id,
            client_address=incoming.client_address,
            headers=header_values,
        )
        request.acting_org_id = acting_organization(sandbox, operation, exchange.key, incoming.acting_organization)
        exchange.request = request

    def prefer(self, exchange: Exchange) -> None:
        if not exchange.incoming.prefer:
            return
        assert exchange.sandbox is not None
        preference = honour(
            exchange.registered.operation, exchange.incoming.prefer, exchange.sandbox.clock.now().timestamp()
        )
        if preference is not None:
            exchange.headers.update(preference.headers)
            exchange.reply = preference.reply

    def quota(self, exchange: Exchange) -> None:
        operation = exchange.registered.operation
        if exchange.key is not None and operation.method in WRITES:
            assert exchange.sandbox is not None
            exchange.sandbox.quotas.check_writes(operation.id)

    def invoke(self, exchange: Exchange) -> None:
        assert exchange.request is not None
        exchange.reply = self.registry.invoke(exchange.request)
