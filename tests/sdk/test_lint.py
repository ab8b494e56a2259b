"""``redocly lint`` (pinned @redocly/cli, its recommended rules) finds no error in either served
document. Warnings are reported, not failed on: the ones left are listed in the README."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.sdk.conftest import Served, node_tool, tool_env

DOCUMENTS = {"v1": "/openapi.json", "control-plane": "/_sandbox/openapi.json"}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_redocly_finds_no_error(served: Served, tmp_path: Path, name: str) -> None:
    document = tmp_path / f"{name}.json"
    document.write_bytes(served.fetch(DOCUMENTS[name]))
    result = subprocess.run(
        [str(node_tool("redocly")), "lint", document.name, "--extends=recommended", "--format=json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=300,
    )
    report = json.loads(result.stdout)
    errors = [problem for problem in report["problems"] if problem["severity"] == "error"]
    assert report["totals"]["errors"] == 0 and not errors, json.dumps(errors, indent=1)[:4000]
    warnings = sorted({problem["ruleId"] for problem in report["problems"]})
    print(
        f"redocly {report['version']} on {DOCUMENTS[name]}: 0 errors, {report['totals']['warnings']} warnings "
        f"({', '.join(warnings)})"
    )
