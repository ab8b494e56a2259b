"""The runtime: what the web layer serves — the sandboxes and the operations that act on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base.settings import Settings
from ..operations.control import ControlPlane
from ..operations.pipeline import RequestPipeline
from ..operations.registry import OperationRegistry, registry
from ..resources.claims import EXTRACTION_TASK, complete_extraction
from ..services.bundle import SandboxServices
from ..services.scenarios.runs import RESUME_TASK
from .backends import Backend, MemoryBackend
from .directory import SandboxDirectory


@dataclass(frozen=True, eq=False)
class Runtime:
    """The sandboxes of this process (or fleet) and the operations that act on them."""

    settings: Settings
    sandboxes: SandboxDirectory
    registry: OperationRegistry
    control: ControlPlane
    pipeline: RequestPipeline

    @property
    def sandbox(self) -> SandboxServices:
        """The sandbox made at start-up (the one ``eal-sandbox serve`` prints the keys of)."""
        return self.sandboxes.default

    def close(self) -> None:
        self.sandboxes.close()


def backend_for(settings: Settings) -> Backend:
    """The embedded memory backend, or Redis for ``STORE=redis://…`` (``composition.fleet``)."""
    if settings.STORE == "memory":
        return MemoryBackend()
    if settings.REPRODUCIBLE_IDS:
        raise ValueError("REPRODUCIBLE_IDS needs STORE=memory: in a fleet every process would draw the same ids")
    from .fleet import RedisBackend

    return RedisBackend(
        settings.STORE, reclaim_seconds=settings.WEBHOOK_RECLAIM_SECONDS, timeout=settings.STORE_TIMEOUT
    )


def build_runtime(settings: Settings) -> Runtime:
    """The process's operations (built once) over a directory of sandboxes made from ``settings``."""
    operations = registry()

    def task_handlers(sandbox: SandboxServices) -> dict[str, Callable[[dict[str, Any]], object]]:
        """What the clock tasks the handlers and the scenario runner leave do (``control`` is bound below,
        before any task can run)."""
        return {
            EXTRACTION_TASK: lambda task: complete_extraction(sandbox, task["org_id"], task["claim_id"]),
            RESUME_TASK: lambda task: control.scenarios.resume(sandbox, task),
        }

    sandboxes = SandboxDirectory(settings, backend_for(settings), task_handlers)
    control = ControlPlane(operations, sandboxes)
    pipeline = RequestPipeline(operations, sandboxes, control, max_correlation_id=settings.MAX_CORRELATION_ID)
    return Runtime(settings, sandboxes, operations, control, pipeline)
