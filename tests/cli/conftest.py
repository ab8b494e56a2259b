"""Fixtures for the CLI tests: a sandbox served over real HTTP and a loopback webhook receiver."""

from tests.scenarios.support import live_sandbox, receiver  # noqa: F401  (fixtures)
