"""What one trigger works with: the sandbox, the organization, and what it made.

A story makes its records through the same handlers the API runs: ``Story.call`` builds a request
as the organization's write key would send it, validates it against the spec and passes it to the
one ``invoke()``. Outside an HTTP request (a clock task, start-up) ``base_url`` says where the
sandbox serves its own files.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from ...resources.request import ApiRequest, Orchestration
from ...services.bundle import SandboxServices
from ...services.world import seeded_faker
from ...services.world.pools import Pools, email_for
from ..registry import OperationRegistry


class TriggerError(ValueError):
    """The trigger cannot run for this organization (the message says why)."""


class Story:
    """One trigger's run: its sandbox, organization, seeded randomness and the records it made."""

    def __init__(
        self,
        registry: OperationRegistry,
        control: Orchestration,
        sandbox: SandboxServices,
        org_id: str,
        base_url: str,
        records: dict[str, list[str]],
    ) -> None:
        self.registry, self.control, self.sandbox = registry, control, sandbox
        self.org_id, self.base_url, self.records = org_id, base_url, records
        serial = sum(len(ids) for ids in records.values()) + sandbox.store.count("event", org_id)
        self.rng = sandbox.rng("trigger", org_id, serial)

    def made(self, kind: str, record_id: str) -> None:
        self.records.setdefault(kind, []).append(record_id)

    def request(self, operation_id: str, body: Any = None, path: dict[str, Any] | None = None) -> ApiRequest:
        """A request as the organization's write key would make it, checked against the spec."""
        return self.registry.internal_request(
            operation_id,
            self.sandbox,
            self.control,
            key=write_key(self.sandbox, self.org_id),
            body=body,
            path=path,
            base_url=self.base_url,
            correlation_id=self.sandbox.ids.prefixed("corr"),
        )

    def call(self, operation_id: str, body: Any = None, path: dict[str, Any] | None = None) -> Any:
        """Run an API operation on such a request; return its body."""
        return self.registry.invoke(self.request(operation_id, body, path)).body

    def person(self) -> tuple[str, str, str]:
        first, last = pools(self.sandbox.settings.SEED).person(self.rng)
        return first, last, email_for(self.rng, first, last)

    def fork(self, attempt: int) -> random.Random:
        """An independent generator for the ``attempt``-th draw of something (same story, same draws)."""
        return random.Random(f"{self.rng.random()}|{attempt}")


@cache
def pools(seed: int) -> Pools:
    return Pools.draw(seeded_faker(seed))


def write_key(sandbox: SandboxServices, org_id: str) -> dict[str, Any]:
    for key in sandbox.keys:
        if key["organization_id"] == org_id and "write" in key["scopes"]:
            return dict(key)
    raise TriggerError(f"organization {org_id} has no key with the write scope")
