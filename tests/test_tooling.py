"""The project's own tooling (configured in pyproject.toml) passes: ruff's lint and its formatter (check only) on
the code and tests, mypy --strict on sandbox/, and import-linter's layer contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "sandbox", "tests"],
        ["mypy", "sandbox"],
        ["lint-imports"],
    ],
    ids=["ruff", "mypy", "lint-imports"],
)
def test_tool_passes(command: list[str]) -> None:
    tool = Path(sys.executable).parent / command[0]
    result = subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
