"""Composition: the one place that wires services together (``directory`` builds each sandbox's,
``runtime`` the process's operations over them, ``backends`` and ``fleet`` say where state lives)."""

from .directory import SandboxDirectory, SeededWorld, SeededWorlds
from .runtime import Runtime, build_runtime

__all__ = ["Runtime", "SandboxDirectory", "SeededWorld", "SeededWorlds", "build_runtime"]
