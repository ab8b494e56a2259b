"""Composition: the one place that wires services together (``directory`` builds each sandbox's,
``runtime`` the process's operations over them, ``backends`` and ``fleet`` say where state lives)."""

from .directory import SandboxDirectory
from .runtime import Runtime, build_runtime
from .worlds import SeededWorld, SeededWorlds

__all__ = ["Runtime", "SandboxDirectory", "SeededWorld", "SeededWorlds", "build_runtime"]
