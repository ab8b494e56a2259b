"""Scripted scenarios: validated YAML files that set server behaviour and play a timeline.

The format is the JSON Schema in ``schema.py`` (documented in the README's "Scenarios" section);
``loader`` finds and validates files, ``behaviour`` applies latency and faults per organization,
``runs`` keeps what each organization started. Timelines are played by
``sandbox.operations.scenario_runner``.
"""

from .behaviour import ScenarioBehaviour
from .loader import Problem, Scenario, ScenarioError, available, find, from_mapping, load, parse
from .runs import Run, ScenarioRuns

__all__ = [
    "Problem",
    "Run",
    "Scenario",
    "ScenarioBehaviour",
    "ScenarioError",
    "ScenarioRuns",
    "available",
    "find",
    "from_mapping",
    "load",
    "parse",
]
