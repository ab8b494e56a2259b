"""Scenario tests share the suite's app: every test here starts and ends with no scenario running
and an empty journal (``clean_slate``, in tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _clean(clean_slate: None) -> None:
    """Every scenario test gets a clean slate."""
