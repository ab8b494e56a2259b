"""The ``eal-sandbox`` command line: ``main`` is the entry point (``pyproject.toml``)."""

from .main import main

__all__ = ["main"]
