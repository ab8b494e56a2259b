"""The pytest plugin as a partner's CI uses it: ``pytest -n 4`` (pytest-xdist) against one shared
server (``--eal-sandbox-url``), every test in a sandbox of its own — no test sees another's writes,
clock or events. Runs a partner's test file in a child pytest; the server is a real loopback one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

PARTNER_TESTS = textwrap.dedent("""
    import httpx
    import pytest

    @pytest.mark.eal_sandbox(leads_per_org=5)
    @pytest.mark.parametrize("number", range(16))
    def test_each_test_has_a_world_of_its_own(eal_sandbox, number):
        headers = {"Authorization": f"Bearer {eal_sandbox.keys['admin']}"}
        with httpx.Client(base_url=eal_sandbox.base_url, headers=headers, timeout=10) as http:
            for n in range(3):
                made = http.post("/api/v1/leads", json={"email": f"t{number}.{n}@example.com"})
                assert made.status_code == 201, made.text
            leads = http.get("/api/v1/leads", params={"limit": 200}).json()["data"]
            assert len(leads) == 5 + 3  # the seed's five, and this test's three: nobody else's
            events = http.get("/_sandbox/events", params={"limit": 200}).json()["data"]
            assert sorted(e["data"]["email"] for e in events if e["type"] == "lead.created") == [
                f"t{number}.{n}@example.com" for n in range(3)]
            before = eal_sandbox.clock.now()
            eal_sandbox.advance("7d")
            moved = (eal_sandbox.clock.now() - before).total_seconds()
            assert 7 * 86400 <= moved < 7 * 86400 + 60  # only this test moved its clock
""")


def test_four_workers_share_one_server_without_interference(live_sandbox: Any, tmp_path: Path) -> None:
    (tmp_path / "test_partner_parallel.py").write_text(PARTNER_TESTS)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "4",
            "-p",
            "no:cacheprovider",
            "--eal-sandbox-url",
            live_sandbox.base_url,
            "test_partner_parallel.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "16 passed" in result.stdout
