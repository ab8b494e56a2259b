"""The operation registry: every operation of the spec with its validator and handler, and the one
``invoke()`` through which HTTP requests, triggers and scenario timelines reach a handler.

Built once per process from the ``Spec``: a handler is the function named by the ``operationId`` in
the module of its tag (``Operation.handler_module``); a missing one stops start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..base.reply import Reply
from ..base.spec import Operation, Spec, load_spec
from ..resources.request import ApiRequest, Orchestration
from ..services.auth import ApiKey
from ..services.bundle import SandboxServices
from ..services.validation import RequestValidator

Handler = Callable[[ApiRequest], Any]


@dataclass(frozen=True, slots=True)
class Registered:
    """One operation, the validator of its requests and the handler that answers it."""

    operation: Operation
    validator: RequestValidator
    handler: Handler


def find_handler(operation: Operation) -> Handler:
    """The resource function for an operation; a missing one stops start-up."""
    module = importlib.import_module(operation.handler_module)
    handler = getattr(module, operation.id, None)
    if handler is None:
        raise LookupError(f"{operation.handler_module} has no {operation.id}() for {operation.method} {operation.path}")
    return handler  # type: ignore[no-any-return]


class OperationRegistry:
    """Every operation by id; ``invoke`` is the only place a handler is called."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.by_id: dict[str, Registered] = {
            operation.id: Registered(operation, RequestValidator(operation, spec.components), find_handler(operation))
            for operation in spec.operations
        }

    def __getitem__(self, operation_id: str) -> Registered:
        return self.by_id[operation_id]

    def __iter__(self) -> Any:
        return iter(self.by_id.values())

    def invoke(self, request: ApiRequest) -> Reply:
        """Run the operation's handler on a validated request; a bare body becomes its success reply."""
        reply = self.by_id[request.operation.id].handler(request)
        if isinstance(reply, Reply):
            return reply
        return Reply(reply, request.operation.success_status)

    def internal_request(
        self,
        operation_id: str,
        sandbox: SandboxServices,
        control: Orchestration,
        *,
        key: ApiKey,
        body: Any = None,
        path: Mapping[str, str] | None = None,
        base_url: str = "",
        correlation_id: str | None = None,
    ) -> ApiRequest:
        """A request the sandbox makes itself (a trigger, a scenario step), validated like any other."""
        registered = self.by_id[operation_id]
        path_values, _ = registered.validator.check_parameters(dict(path or {}), {}, {})
        registered.validator.check_body(body)
        return ApiRequest(
            registered.operation, sandbox, control, path_values, {}, body, dict(key), base_url, correlation_id
        )


@cache
def registry() -> OperationRegistry:
    """The process's registry, built on first use from the process's ``Spec``."""
    return OperationRegistry(load_spec())
