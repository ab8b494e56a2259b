"""A fleet's delivery jobs and timers, in one test process: two runtimes on one Redis database stand
for two processes. A process that stops renewing its claim on a job it holds (it died) loses the job
to another after ``WEBHOOK_RECLAIM_SECONDS``; a due task fires in exactly one of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from sandbox.base.redis_transactions import RedisTransactions
from sandbox.web.app import runtime_of, sandbox_of
from tests.support import auth, fresh_database, keys_by_role, make_app
from tests.webhooks.receiver import Receiver, wait_until


@pytest.fixture
def database(redis_url: str) -> str:
    return fresh_database(redis_url)


@pytest.fixture
def apps(database: str) -> Iterator[list[Flask]]:
    made: list[Flask] = []
    yield made
    for app in made:
        runtime_of(app).close()


def fleet_app(database: str, apps: list[Flask], **settings: Any) -> Flask:
    app = make_app(
        STORE=database, WEBHOOK_RECLAIM_SECONDS=1, WEBHOOK_TIMEOUT=10, CLOCK_FROZEN=False, CLOCK_START=None, **settings
    )
    apps.append(app)
    return app


def test_a_job_held_by_a_dead_process_is_taken_over_with_the_same_event(database: str, apps: list[Flask]) -> None:
    receiver = Receiver()
    try:
        first = fleet_app(database, apps)
        keys = keys_by_role(sandbox_of(first))
        client = first.test_client()
        made = client.post(
            "/api/v1/webhooks", headers=auth(keys["admin"]), json={"url": receiver.url, "events": ["lead.created"]}
        )
        assert made.status_code == 201
        receiver.fail_first(1, 200, sleep=6)  # the first attempt hangs in the first process's worker
        lead = client.post("/api/v1/leads", headers=auth(keys["write"]), json={"email": "a@example.com"})
        assert lead.status_code == 201
        receiver.wait_for(1, 10)
        consumer = runtime_of(first).sandboxes.backend.jobs  # type: ignore[attr-defined]
        consumer.stop()  # the first process "dies": it renews no claim any more (its hung attempt still runs)

        fleet_app(database, apps)  # another process joins: it finds the job idle past 1 s and takes it
        second = receiver.wait_for(2, 5)
        assert len(second) == 2, "the job of the dead process was not taken over in time"
        assert second[0].event_id == second[1].event_id
        assert second[1].headers["x-eal-delivery-attempt"] == "1"  # the same attempt, made again
    finally:
        receiver.close()


def test_a_due_task_fires_in_one_process_only(database: str, apps: list[Flask]) -> None:
    first = fleet_app(database, apps, CLAIM_EXTRACTION_SECONDS=1)
    fleet_app(database, apps, CLAIM_EXTRACTION_SECONDS=1)
    keys = keys_by_role(sandbox_of(first))
    client = first.test_client()
    claims = [
        client.post(
            "/api/v1/claims",
            headers=auth(keys["write"]),
            json={
                "loss_type": "water",
                "job_external_ref": f"jn_{n}",
                "source": {"vendor": "companycam", "project_id": f"cc_{n}"},
            },
        ).get_json()["id"]
        for n in range(20)
    ]
    sandbox = sandbox_of(first)

    def ready() -> list[Any]:
        return [e for e in sandbox.store.scan("event", keys_org(sandbox)) if e["type"] == "claim.scope.ready"]

    wait_until(lambda: len(ready()) >= len(claims), 15)
    assert sorted(e["data"]["id"] for e in ready()) == sorted(claims)  # each once, by one process or the other


def keys_org(sandbox: Any) -> str:
    return str(sandbox.world.child_org_ids[0])


def test_an_event_and_its_delivery_job_are_stored_in_one_step(
    database: str, apps: list[Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that dies right after a write's commit (before anything it would do next) has still
    queued the deliveries of the events that write stored: another process delivers them."""
    receiver = Receiver()
    try:
        first = fleet_app(database, apps)
        keys = keys_by_role(sandbox_of(first))
        client = first.test_client()
        made = client.post(
            "/api/v1/webhooks", headers=auth(keys["admin"]), json={"url": receiver.url, "events": ["lead.created"]}
        )
        assert made.status_code == 201
        runtime_of(first).sandboxes.backend.jobs.stop()  # type: ignore[attr-defined]  # it takes no job

        class Died(BaseException):
            """The process's end, right after the commit's Lua step returned."""

        commit = RedisTransactions._commit

        def commit_then_die(self: RedisTransactions, tx: Any) -> None:
            commit(self, tx)
            raise Died

        monkeypatch.setattr(RedisTransactions, "_commit", commit_then_die)
        with pytest.raises(Died):
            client.post("/api/v1/leads", headers=auth(keys["write"]), json={"email": "died@example.com"})
        monkeypatch.undo()
        stored = [
            e
            for e in sandbox_of(first).store.scan("event", keys_org(sandbox_of(first)))
            if e["type"] == "lead.created" and e["data"].get("email") == "died@example.com"
        ]
        assert len(stored) == 1  # the write was stored...

        fleet_app(database, apps)  # ...and another process delivers its event
        delivered = receiver.wait_for(1, 15)
        assert [d.event_id for d in delivered] == [stored[0]["id"]]
    finally:
        receiver.close()
