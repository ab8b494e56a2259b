"""Fixtures for scenario tests: a loopback webhook receiver, subscriptions, a live sandbox.

The suite's app is shared between tests: every test here starts and ends with no scenario
running and an empty journal.
"""

import pytest

from tests.scenarios.support import clean_slate, live_sandbox, receiver, subscribe  # noqa: F401


@pytest.fixture(autouse=True)
def _clean(clean_slate: None) -> None:  # noqa: F811
    """Every scenario test gets a clean slate."""
