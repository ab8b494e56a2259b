"""``webhooks`` and ``events`` against a sandbox served over real HTTP, delivering to a loopback
receiver: what the commands print is what the receiver gets."""

from __future__ import annotations

import json
import re
from typing import Any

from click.testing import CliRunner

from sandbox.cli import main
from sandbox.services.webhooks import verify_signature


def run(sandbox: Any, *args: str, role: str = "admin") -> Any:
    result = CliRunner().invoke(main, [*args, "--url", sandbox.base_url, "--key", sandbox.keys[role]])
    assert result.exit_code == 0, result.output
    return result.output


def test_create_trigger_list_deliveries_replay_rotate_delete(live_sandbox: Any, receiver: Any) -> None:
    created = run(
        live_sandbox,
        "webhooks",
        "create",
        receiver.url,
        "--events",
        "lead.created,lead.updated",
        "--description",
        "my laptop",
    )
    webhook_id = re.search(r"^created webhook (\S+) -> " + re.escape(receiver.url) + "$", created, re.M)[1]  # type: ignore[index]
    assert "  events:         lead.created, lead.updated" in created
    secret = re.search(r"signing secret: (whsec_\S+)  \(shown once: save it now\)", created)[1]  # type: ignore[index]

    listed = run(live_sandbox, "webhooks", "list", role="read").splitlines()
    assert listed[0].split() == ["ID", "STATE", "LAST", "URL", "EVENTS"]
    assert listed[1].split() == [webhook_id, "enabled", "-", receiver.url, "lead.created,lead.updated"]
    as_json = json.loads(run(live_sandbox, "webhooks", "list", "--json", role="read"))
    assert [w["description"] for w in as_json["data"]] == ["my laptop"]

    triggered = run(live_sandbox, "trigger", "lead.created", role="write")
    event_id = re.search(r"^emitted lead.created +(evt_\w+)$", triggered, re.M)[1]  # type: ignore[index]
    first = receiver.wait_for(1)[0]
    assert first.event_id == event_id and verify_signature(first.body, first.headers, secret)

    events = run(live_sandbox, "events", "list", role="read").splitlines()
    assert events[0].split() == ["CREATED", "TYPE", "ID"]
    assert any(line.split()[1:] == ["lead.created", event_id] for line in events[1:])

    assert live_sandbox.sandbox.webhooks.settle(None, 5)
    deliveries = run(live_sandbox, "webhooks", "deliveries", webhook_id, role="read").splitlines()
    assert deliveries[0].split() == ["DELIVERY", "EVENT", "EVENT", "ID", "STATUS", "CODE", "LATENCY", "ATTEMPT", "AT"]
    row = deliveries[1].split()
    assert row[1:5] == ["lead.created", event_id, "delivered", "200"] and row[7] == "1"
    delivery_id = row[0]

    replayed = run(live_sandbox, "events", "replay", event_id, role="write")
    assert replayed.startswith(f"replayed {event_id}: 1 delivery scheduled")
    again = receiver.wait_for(2)[1]
    assert again.event_id == event_id and again.headers["x-eal-delivery-id"] != first.headers["x-eal-delivery-id"]
    assert verify_signature(again.body, again.headers, secret)
    run(live_sandbox, "events", "replay", delivery_id, role="write")  # a delivery id: to its subscription
    assert receiver.wait_for(3)[2].event_id == event_id
    only = run(live_sandbox, "events", "replay", event_id, "--webhook", webhook_id, "--json", role="write")
    assert json.loads(only) == {"event_id": event_id, "deliveries_scheduled": 1}
    assert receiver.wait_for(4)[3].event_id == event_id

    rotated = run(live_sandbox, "webhooks", "rotate", webhook_id)
    new_secret = re.search(r"new signing secret: (whsec_\S+)", rotated)[1]  # type: ignore[index]
    assert new_secret != secret and "keeps verifying (X-EAL-Signature-Previous) for 24 hours" in rotated
    run(live_sandbox, "events", "replay", event_id, role="write")
    overlap = receiver.wait_for(5)[4]
    assert verify_signature(overlap.body, overlap.headers, new_secret)
    assert verify_signature(overlap.body, overlap.headers, secret)  # through X-EAL-Signature-Previous

    assert run(live_sandbox, "webhooks", "delete", webhook_id) == f"deleted webhook {webhook_id}\n"
    assert run(live_sandbox, "webhooks", "list").startswith("no webhook subscriptions")


def test_create_takes_all_events_and_refusals_are_one_line(live_sandbox: Any, receiver: Any) -> None:
    created = json.loads(run(live_sandbox, "webhooks", "create", receiver.url, "--events", "all", "--json"))
    assert len(created["events"]) == 11 and created["signing_secret"].startswith("whsec_")
    read_only = CliRunner().invoke(
        main,
        [
            "webhooks",
            "create",
            receiver.url,
            "--events",
            "lead.created",
            "--url",
            live_sandbox.base_url,
            "--key",
            live_sandbox.keys["read"],
        ],
    )
    assert read_only.exit_code == 1 and len(read_only.output.splitlines()) == 1
    assert "POST /api/v1/webhooks -> 403 forbidden" in read_only.output
    private = CliRunner().invoke(
        main,
        [
            "webhooks",
            "create",
            "http://10.0.0.5/hook",
            "--events",
            "lead.created",
            "--url",
            live_sandbox.base_url,
            "--key",
            live_sandbox.keys["admin"],
        ],
    )
    assert private.exit_code == 1 and len(private.output.splitlines()) == 1 and "400 validation_error" in private.output
    missing = CliRunner().invoke(
        main,
        [
            "webhooks",
            "rotate",
            "00000000-0000-4000-8000-000000000000",
            "--url",
            live_sandbox.base_url,
            "--key",
            live_sandbox.keys["admin"],
        ],
    )
    assert missing.exit_code == 1 and "404 not_found" in missing.output and len(missing.output.splitlines()) == 1
    unknown = CliRunner().invoke(
        main,
        ["events", "replay", "evt_nosuchevent", "--url", live_sandbox.base_url, "--key", live_sandbox.keys["write"]],
    )
    assert unknown.exit_code == 1 and "404 not_found" in unknown.output


def test_events_list_pages_with_the_cursor_it_prints(live_sandbox: Any) -> None:
    run(live_sandbox, "trigger", "lead.created", "--count", "3", role="write")  # 3 lead.created + 3 audit events
    first = run(live_sandbox, "events", "list", "--limit", "4", role="read").splitlines()
    assert len(first) == 1 + 4 + 1 and first[-1].startswith("more: eal-sandbox events list --cursor ")
    cursor = first[-1].split()[-1]
    rest = run(live_sandbox, "events", "list", "--limit", "4", "--cursor", cursor, role="read").splitlines()
    assert len(rest) == 1 + 2 and not set(first[1:5]) & set(rest[1:])
