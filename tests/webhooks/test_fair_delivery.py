"""Fair webhook delivery: one deadline for a whole attempt, a cap per endpoint, shares per sandbox —
so one sandbox's slow or hanging receivers never hold up another sandbox's deliveries — and no
attempt ever stays pending. Real receivers on loopback, a sandbox served over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox.services.webhooks import WebhookService
from sandbox.services.webhooks.delivery import Sender
from sandbox.web.app import runtime_of
from tests.support import LiveSandbox, Receiver
from tests.webhooks.receiver import ORG, SlowReceiver, wait_until


@pytest.fixture
def server() -> Iterator[LiveSandbox]:
    running = LiveSandbox(LEADS_PER_ORG=5, WEBHOOK_TIMEOUT=5.0, WEBHOOK_WORKERS=8, WEBHOOK_ENDPOINT_IN_FLIGHT=2)
    yield running
    running.close()


def mint(http: httpx.Client) -> dict[str, str]:
    body = http.post("/_sandbox/sandboxes").json()
    location = next(k["organization_id"] for k in body["keys"] if k["parent_organization_id"])
    return {k["scopes"][-1]: k["token"] for k in body["keys"] if k["organization_id"] == location} | {"id": body["id"]}


def subscribe(http: httpx.Client, keys: dict[str, str], url: str, events: list[str]) -> dict[str, Any]:
    made = http.post(
        "/api/v1/webhooks", headers={"Authorization": f"Bearer {keys['admin']}"}, json={"url": url, "events": events}
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_a_sandboxs_slow_and_hanging_receivers_never_hold_up_another_sandbox(server: LiveSandbox) -> None:
    tricklers = [SlowReceiver(every=0.5) for _ in range(4)]
    hanging, healthy = SlowReceiver(hold=True), Receiver()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as http:
            slow, calm = mint(http), mint(http)
            for trickler in tricklers:
                subscribe(http, slow, trickler.url, ["lead.created"])
            subscribe(http, slow, hanging.url, ["audit.log.event"])
            for number in range(40):  # 160 trickled deliveries and 40 to a receiver that never answers
                http.post(
                    "/api/v1/leads",
                    headers={"Authorization": f"Bearer {slow['write']}"},
                    json={"email": f"slow{number}@example.com"},
                )
            sandbox = runtime_of(server.app).sandboxes.find(slow["id"])
            assert sandbox is not None
            workers = sandbox.webhooks.transport.workers
            wait_until(lambda: workers.running(slow["id"]) == workers.per_owner, timeout=10)  # its share is busy
            subscribe(http, calm, healthy.url, ["lead.created"])
            http.post(
                "/api/v1/leads",
                headers={"Authorization": f"Bearer {calm['write']}"},
                json={"email": "calm@example.com"},
            )
            assert len(healthy.wait_for(1, timeout=10)) == 1
            arrived = time.monotonic()
            # It did not wait for any of the slow sandbox's attempts: none of them had ended yet.
            slow_ones = (*tricklers, hanging)
            assert all(finished > arrived for receiver in slow_ones for finished in receiver.finished)
            assert workers.queued(slow["id"]) >= 40  # and much of the slow sandbox's work was still waiting
            assert all(receiver.most_active <= 2 for receiver in slow_ones)  # the per-endpoint cap
    finally:
        for receiver in (*tricklers, hanging):
            receiver.close()
        healthy.close()


def test_an_attempt_has_one_deadline_for_connect_send_and_the_whole_answer(server: LiveSandbox) -> None:
    trickler = SlowReceiver(every=1.0)  # each byte within a read timeout, the answer never within 2 s
    try:
        runtime = runtime_of(server.app)
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as http:
            keys = mint(http)
            sandbox = runtime.sandboxes.find(keys["id"])
            assert sandbox is not None
            sandbox.webhooks.transport.sender.timeout = 2.0
            hook = subscribe(http, keys, trickler.url, ["lead.created"])
            http.post(
                "/api/v1/leads",
                headers={"Authorization": f"Bearer {keys['write']}"},
                json={"email": "trickled@example.com"},
            )
            assert sandbox.webhooks.settle(None, 15)
            (attempt,) = sandbox.webhooks.deliveries(sandbox.world.child_org_ids[0], hook["id"])
            assert attempt["status"] == "retrying" and attempt["error"].startswith("timed out")
            assert attempt["next_attempt_at"] is not None
            listed = http.get(
                f"/api/v1/webhooks/{hook['id']}/deliveries", headers={"Authorization": f"Bearer {keys['read']}"}
            ).json()["data"][0]
            assert (listed["error"], listed["next_attempt_at"]) == (attempt["error"], attempt["next_attempt_at"])
    finally:
        trickler.close()


def test_any_exception_in_an_attempt_fails_it_and_schedules_the_retry(
    service: WebhookService, receiver: Any, monkeypatch: pytest.MonkeyPatch, run_out: Callable[..., None]
) -> None:
    def broken(self: Sender, *args: Any) -> Any:
        raise RuntimeError("the HTTP client could not use this URL")

    monkeypatch.setattr(Sender, "_post", broken)
    record, _ = service.create_subscription(ORG, receiver.url, ["lead.created"], None)
    service.emit(ORG, "lead.created", {})
    run_out(service)
    log = service.deliveries(ORG, record["id"])
    assert [entry["status"] for entry in log] == ["failed", *["retrying"] * (len(log) - 1)]
    assert all(entry["error"] == "RuntimeError: the HTTP client could not use this URL" for entry in log)
    assert not any(entry["status"] == "pending" for entry in log)


def test_a_subscription_a_410_disabled_can_be_enabled_again(server: LiveSandbox) -> None:
    gone = Receiver(status=410)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as http:
            keys = mint(http)
            auth = {"Authorization": f"Bearer {keys['admin']}"}
            hook = subscribe(http, keys, gone.url, ["lead.created"])
            http.post("/api/v1/leads", headers=auth, json={"email": "one@example.com"})
            wait_until(
                lambda: http.get(f"/api/v1/webhooks/{hook['id']}", headers=auth).json()["enabled"] is False, timeout=10
            )
            enabled = http.post(f"/_sandbox/webhooks/{hook['id']}/enable", headers=auth)
            assert enabled.status_code == 200 and enabled.json()["enabled"] is True
            http.post("/api/v1/leads", headers=auth, json={"email": "two@example.com"})
            assert len(gone.wait_for(2, timeout=10)) == 2
            missing = http.post("/_sandbox/webhooks/00000000-0000-4000-8000-000000000000/enable", headers=auth)
            assert missing.status_code == 404
    finally:
        gone.close()
