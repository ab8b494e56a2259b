"""Scripted scenarios: validated YAML files that set server behaviour and play a timeline.

The format is the JSON Schema in ``schema.py`` (documented in the README's "Scenarios" section);
``loader`` finds and validates files, ``runtime`` runs them per tenant, ``limits`` enforces their
rate limits.
"""

from .loader import Problem, Scenario, ScenarioError, available, find, from_mapping, load, parse
from .runtime import Run, ScenarioRunner, attach

__all__ = [
    "Problem",
    "Run",
    "Scenario",
    "ScenarioError",
    "ScenarioRunner",
    "attach",
    "available",
    "find",
    "from_mapping",
    "load",
    "parse",
]
