"""``eal-sandbox sandboxes create|show|delete`` against a sandbox served over real HTTP; client
commands act on the sandbox of ``--key``."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from sandbox.cli import main


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_create_show_delete(live_sandbox: Any) -> None:
    url = live_sandbox.base_url
    made = json.loads(run("sandboxes", "create", "--seed", "9", "--ttl", "30m", "--url", url, "--json"))
    assert made["id"].startswith("sbx_") and made["seed"] == 9 and made["ttl_seconds"] == 1800
    network_admin = next(
        k["token"] for k in made["keys"] if k["parent_organization_id"] is None and "admin" in k["scopes"]
    )
    location_write = next(
        k["token"] for k in made["keys"] if k["parent_organization_id"] and k["scopes"] == ["read", "write"]
    )

    shown = run("sandboxes", "show", "--url", url, "--key", location_write)
    assert shown.splitlines()[0].startswith(f"sandbox {made['id']}  seed 9")
    assert "(hidden)" in shown and location_write not in shown  # tokens are shown once, at creation

    # A client command acts on the sandbox of --key: this lead lands in the new sandbox only.
    run("trigger", "lead.created", "--url", url, "--key", location_write)
    events = json.loads(run("events", "list", "--json", "--url", url, "--key", location_write))["data"]
    assert [e["type"] for e in events].count("lead.created") == 1
    start_up = json.loads(run("events", "list", "--json", "--url", url, "--key", live_sandbox.keys["write"]))
    assert start_up["data"] == []

    assert run("sandboxes", "delete", "--url", url, "--key", network_admin).strip() == f"deleted sandbox {made['id']}"
    gone = run("sandboxes", "show", "--url", url, "--key", location_write, code=1)
    assert "401" in gone and "unauthorized" in gone


def test_create_prints_the_keys_and_an_export_line(live_sandbox: Any) -> None:
    printed = run("sandboxes", "create", "--url", live_sandbox.base_url).splitlines()
    assert printed[0].startswith("sandbox sbx_") and printed[1].split() == ["TOKEN", "SCOPES", "ORGANIZATION", "LEVEL"]
    assert sum(line.startswith("eal_test_") for line in printed) == 12
    assert printed[-1].startswith("export EAL_SANDBOX_KEY=eal_test_")


def test_bad_options_are_one_line(live_sandbox: Any) -> None:
    out = run("sandboxes", "create", "--ttl", "soon", "--url", live_sandbox.base_url, code=2)
    assert len(out.strip().splitlines()) == 1
    out = run("sandboxes", "create", "--ttl", "30s", "--url", live_sandbox.base_url, code=1)
    assert "body.ttl" in out and len(out.strip().splitlines()) == 1
