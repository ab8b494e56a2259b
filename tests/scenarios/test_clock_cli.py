"""The clock and scenario commands, against a sandbox served over real HTTP."""

from __future__ import annotations

import json
import re
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
    assert bad.exit_code == 2 and len(bad.output.splitlines()) == 1
    assert "'a while' is not a duration: write a number and a unit (ms, s, m, h, d, w)" in bad.output
    too_long = CliRunner().invoke(main, ["clock", "advance", "100000s", "--url", url])  # the API takes 4 digits
    assert too_long.exit_code == 2 and "is not a duration" in too_long.output


def test_clock_show_sends_the_key_it_is_given(live_sandbox: Any) -> None:
    url, keys = live_sandbox.base_url, live_sandbox.keys
    assert run("clock", "show", "--url", url, "--key", keys["read"]).exit_code == 0
    journaled = run("journal", "show", "--url", url, "--key", keys["read"], "--path", "/_sandbox/clock", "--json")
    assert [e["operation_id"] for e in json.loads(journaled.output)["data"]] == ["get_clock"]
    refused = CliRunner().invoke(main, ["clock", "show", "--url", url, "--key", "eal_test_nosuchkey"])
    assert refused.exit_code == 1 and "401 unauthorized" in refused.output
    shown = json.loads(run("clock", "show", "--url", url, "--json").output)  # no key: none is needed
    assert shown["now"] == "2026-11-02T15:30:00.000Z" and shown["virtual"] is True


def test_scenario_commands_drive_the_control_api(live_sandbox: Any, tmp_path: Any) -> None:
    url, admin = live_sandbox.base_url, live_sandbox.keys["admin"]
    started = run("scenarios", "start", "rate-limit", "--url", url, "--key", admin)
    assert started.exit_code == 0
    assert started.output.splitlines() == [
        f"scenario 'rate-limit' started for organization {live_sandbox.sandbox.world.child_org_ids[0]} "
        "since 2026-11-02T15:30:00.000Z",
        "  behaviour: rate limit 5 requests per 60s",
        "  timeline:  0/0 steps, done",
    ]
    status = run("scenarios", "status", "--url", url, "--key", admin)
    assert status.output.startswith("scenario 'rate-limit' in force for organization ")
    as_json = json.loads(run("scenarios", "status", "--url", url, "--key", admin, "--json").output)
    assert as_json["running"] is True and as_json["run"]["name"] == "rate-limit"
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 1\nname: mine\ndescription: just a lead\ntimeline:\n  - trigger: lead.created\n")
    inline = run("scenarios", "start", str(mine), "--url", url, "--key", admin)
    assert inline.exit_code == 0 and inline.output.startswith("scenario 'mine' started")
    assert "behaviour: none (the API answers normally)" in inline.output
    assert re.search(r"^ +0\. trigger lead.created +2 events: 1 audit.log.event, 1 lead.created$", inline.output, re.M)
    stopped = run("scenarios", "stop", "--url", url, "--key", admin)
    assert stopped.output == "stopped scenario 'mine' (1/1 timeline steps had played)\n"
    assert run("scenarios", "stop", "--url", url, "--key", admin).output.startswith("no scenario was running")
    assert run("scenarios", "status", "--url", url, "--key", admin).output.startswith("no scenario in force")
    journal = run("journal", "show", "--url", url, "--key", admin, "--path", "/_sandbox/scenarios*")
    assert journal.exit_code == 0 and "start_scenario" in journal.output
    unreachable = CliRunner().invoke(main, ["scenarios", "status", "--url", "http://127.0.0.1:9", "--key", admin])
    assert unreachable.exit_code == 1 and "cannot reach the sandbox" in unreachable.output


def test_a_long_timeline_is_summarised_in_a_few_lines(live_sandbox: Any) -> None:
    url, admin = live_sandbox.base_url, live_sandbox.keys["admin"]
    full = json.loads(run("scenarios", "start", "storm-night", "--url", url, "--key", admin, "--json").output)
    assert full["name"] == "storm-night" and full["timeline"]["steps"]
    summary = run("scenarios", "status", "--url", url, "--key", admin).output.splitlines()
    assert len(summary) <= 3 + 1 + 10 < len(json.dumps(full, indent=2).splitlines())
    assert "waiting, resumes at" in summary[2] and "(sandbox clock)" in summary[2]


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
