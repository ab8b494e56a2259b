"""The README's shell snippets: every variable a ```bash block uses is defined in that block, and
each key-picking one-liner (``VAR=$(curl … /_sandbox/keys | python3 -c '…')``) picks the key its
name promises from a real /_sandbox/keys answer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = [m[1] for m in re.finditer(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)]
PICKS = re.compile(r"^\s*([A-Z_]+)=\$\(curl -s \S+/_sandbox/keys \| python3 -c '([^']+)'\)", re.M)


def test_every_variable_a_bash_block_uses_is_defined_in_it() -> None:
    undefined = {}
    for block in BLOCKS:
        uses = set(re.findall(r"\$\{?([A-Za-z_]\w*)", block))
        defined = set(re.findall(r"(?:^|[;&|]\s*|export\s+)\s*([A-Za-z_]\w*)=", block, re.M))
        if uses - defined:
            undefined[block.splitlines()[0]] = sorted(uses - defined)
    assert undefined == {}


@pytest.fixture
def keys_answer(app: Any) -> bytes:
    return bytes(app.test_client().get("/_sandbox/keys").get_data())


def expected(sandbox: Any, name: str) -> str:
    child = sandbox.world.child_org_ids[0]
    scopes = {"KEY": ["read", "write"], "ADMIN_KEY": ["read", "write", "admin"]}
    if name == "CHILD_ID":
        return str(child)
    if name == "PARENT_KEY":
        return next(
            k["token"]
            for k in sandbox.world.keys
            if k["organization_id"] == sandbox.world.parent_org_id and k["scopes"] == ["read"]
        )
    return next(k["token"] for k in sandbox.world.keys if k["organization_id"] == child and k["scopes"] == scopes[name])


def test_each_key_one_liner_picks_what_its_name_says(keys_answer: bytes, sandbox: Any) -> None:
    picks = [match for block in BLOCKS for match in PICKS.findall(block)]
    assert {name for name, _ in picks} == {"KEY", "ADMIN_KEY", "PARENT_KEY", "CHILD_ID"}
    for name, code in picks:
        printed = subprocess.run([sys.executable, "-c", code], input=keys_answer, capture_output=True, check=True)
        assert printed.stdout.decode().strip() == expected(sandbox, name), name
