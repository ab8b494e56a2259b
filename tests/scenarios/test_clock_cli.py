"""The clock and scenario commands, against a sandbox served over real HTTP."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from sandbox.cli import main
from tests.support import auth


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_advancing_24h_ends_a_rotation_overlap_and_completes_pending_claims(live_sandbox: Any) -> None:
    url, keys = live_sandbox.base_url, live_sandbox.keys
    client = live_sandbox.app.test_client()
    webhook = client.post(
        "/api/v1/webhooks",
        headers=auth(keys["admin"]),
        json={"url": "http://127.0.0.1:9/hook", "events": ["lead.created"]},
    ).get_json()
    client.post(f"/api/v1/webhooks/{webhook['id']}/rotate-secret", headers=auth(keys["admin"]))
    claim = client.post(
        "/api/v1/claims",
        headers=auth(keys["write"]),
        json={"loss_type": "water", "source": {"vendor": "companycam", "project_id": "cc_proj_1"}},
    ).get_json()
    org = live_sandbox.sandbox.world.child_org_ids[0]
    assert len(live_sandbox.sandbox.store.get("webhook", org, webhook["id"])["_secrets"]) == 2

    shown = run("clock", "show", "--url", url)
    assert shown.exit_code == 0 and shown.output.startswith("2026-11-02T15:30:00.000Z")
    advanced = run("clock", "advance", "24h", "--url", url, "--key", keys["admin"])
    assert advanced.exit_code == 0 and advanced.output.startswith("2026-11-03T15:30:00.000Z")
    assert len(live_sandbox.sandbox.store.get("webhook", org, webhook["id"])["_secrets"]) == 1
    read = client.get(f"/api/v1/claims/{claim['id']}", headers=auth(keys["read"])).get_json()
    assert read["status"] == "ready_for_review"

    bad = CliRunner().invoke(main, ["clock", "advance", "a while", "--url", url])
    assert bad.exit_code == 2 and "is not a duration" in bad.output


def test_scenario_commands_drive_the_control_api(live_sandbox: Any, tmp_path: Any) -> None:
    url, admin = live_sandbox.base_url, live_sandbox.keys["admin"]
    started = run("scenarios", "start", "rate-limit", "--url", url, "--key", admin)
    assert started.exit_code == 0 and '"name": "rate-limit"' in started.output
    assert '"running": true' in run("scenarios", "status", "--url", url, "--key", admin).output
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "version: 1\nname: mine\ndescription: just a lead\ntimeline:\n  - trigger: lead.created\n"
    )
    inline = run("scenarios", "start", str(mine), "--url", url, "--key", admin)
    assert inline.exit_code == 0 and '"name": "mine"' in inline.output
    assert '"stopped": true' in run("scenarios", "stop", "--url", url, "--key", admin).output
    journal = run("journal", "show", "--url", url, "--key", admin, "--path", "/_sandbox/scenarios*")
    assert journal.exit_code == 0 and "start_scenario" in journal.output
    unreachable = CliRunner().invoke(
        main, ["scenarios", "status", "--url", "http://127.0.0.1:9", "--key", admin]
    )
    assert unreachable.exit_code == 1 and "cannot reach the sandbox" in unreachable.output


def test_reset_command_restores_the_seed(live_sandbox: Any) -> None:
    url, keys = live_sandbox.base_url, live_sandbox.keys
    client = live_sandbox.app.test_client()
    created = client.post("/api/v1/leads", headers=auth(keys["write"]), json={"email": "cli@example.com"})
    assert created.status_code == 201
    done = run("reset", "--url", url, "--key", keys["admin"])
    assert done.exit_code == 0 and done.output.startswith("reset organization ")
    lead = client.get(f"/api/v1/leads/{created.get_json()['id']}", headers=auth(keys["read"]))
    assert lead.status_code == 404
    refused = CliRunner().invoke(main, ["reset", "--world", "--url", url, "--key", keys["admin"]])
    assert refused.exit_code == 1 and "top-level (network) organization" in refused.output
    world = run("reset", "--world", "--url", url)  # no --key: the network's admin key is used
    assert world.exit_code == 0 and "reset the whole world" in world.output
    assert "(using the admin key of PuroClean Atlanta Metro Network)" in world.output
