"""openapi-typescript types the served documents and ``tsc --strict`` checks partner programs
against them: a small client of the v1 API and one of the control plane type-check; the same
create with a misspelled LeadCreate field, or a string as its body, does not.

The programs are in ``tests/sdk/ts`` (``api.ts`` is a ten-line typed ``fetch`` over the generated
``paths``); they are copied beside the generated types in a temporary folder.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sdk.conftest import SDK_DIR, Served, node_tool, tool_env

PROGRAMS = SDK_DIR / "ts"
TSC_FLAGS = [
    "--strict",
    "--noEmit",
    "--target",
    "es2022",
    "--module",
    "esnext",
    "--moduleResolution",
    "bundler",
    "--lib",
    "es2022,dom",
    "--skipLibCheck",
]


@pytest.fixture(scope="module")
def typed(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the programs, the types of both served documents and the pinned node_modules."""
    generate = node_tool("openapi-typescript")
    folder = tmp_path_factory.mktemp("typescript")
    for program in PROGRAMS.glob("*.ts"):
        shutil.copy(program, folder / program.name)
    for name, path in (("v1", "/openapi.json"), ("control-plane", "/_sandbox/openapi.json")):
        result = subprocess.run(
            [str(generate), f"{served.base_url}{path}", "-o", str(folder / f"{name}.d.ts")],
            capture_output=True,
            text=True,
            env=tool_env(),
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    return folder


def tsc(folder: Path, program: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(node_tool("tsc")), *TSC_FLAGS, program],
        cwd=folder,
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=300,
    )


def test_lead_create_is_a_typed_object(typed: Path) -> None:
    types = (typed / "v1.d.ts").read_text(encoding="utf-8")
    declaration = types[types.index("LeadCreate: {") :]
    assert declaration[: declaration.index("};")].count("?:") >= 10  # its properties, not `unknown`
    assert "| unknown" not in declaration[: declaration.index("};") + 40]


@pytest.mark.parametrize("program", ["client.ts", "control.ts"])
def test_a_correct_program_type_checks(typed: Path, program: str) -> None:
    result = tsc(typed, program)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("program", "complaint"),
    [
        ("misspelled.ts", "'emial' does not exist in type"),
        ("string_body.ts", "Type '\"sarah@example.com\"' has no properties in common with type"),
    ],
)
def test_a_wrong_lead_create_does_not_type_check(typed: Path, program: str, complaint: str) -> None:
    result = tsc(typed, program)
    assert result.returncode != 0
    assert complaint in result.stdout and result.stdout.count("error TS") == 1, result.stdout
