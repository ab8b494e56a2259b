"""Twenty clients creating and patching leads at once lose no record and no audit event."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support import auth

THREADS = 20
LEADS_EACH = 3


def walk(client: Any, token: str, path: str, **query: Any) -> list[dict[str, Any]]:
    """Every record of a list, page by page."""
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = {"cursor": cursor} if cursor else {}
        body = client.get(f"/api/v1{path}", query_string={**query, **page}, headers=auth(token)).get_json()
        seen += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def work(app: Any, token: str, shared_lead_id: str, barrier: threading.Barrier, worker: int) -> list[str]:
    """Create LEADS_EACH leads and patch each, plus one patch of the lead every worker patches."""
    client = app.test_client()
    headers = auth(token)
    barrier.wait()
    created = []
    for n in range(LEADS_EACH):
        response = client.post(
            "/api/v1/leads", json={"name": f"Worker {worker}", "company": f"Lead {n} LLC"}, headers=headers
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        created.append(response.get_json()["id"])
    for n, lead_id in enumerate(created):
        response = client.patch(
            f"/api/v1/leads/{lead_id}", json={"pipeline_stage": "contacted", "lead_score": n + 1}, headers=headers
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    response = client.patch(
        f"/api/v1/leads/{shared_lead_id}", json={"company_size": f"worker-{worker}"}, headers=headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return created


def test_twenty_threads_lose_no_lead_and_no_audit_event(app, client, keys, sandbox):
    org_id = keys["org_id"]
    seeded = [lead["id"] for lead in sandbox.store.scan("lead", org_id)]
    shared = sandbox.store.get("lead", org_id, seeded[0])
    audited = {
        action: len(walk(client, keys["read"], "/audit-log", action=action, limit=200))
        for action in ("lead.created", "lead.updated")
    }
    barrier = threading.Barrier(THREADS)
    tokens = [keys["write"], keys["admin"]]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [
            pool.submit(work, app, tokens[worker % 2], shared["id"], barrier, worker) for worker in range(THREADS)
        ]
        created = [lead_id for future in futures for lead_id in future.result(timeout=60)]

    assert len(created) == len(set(created)) == THREADS * LEADS_EACH
    assert sandbox.store.count("lead", org_id) == len(seeded) + len(created)

    for lead_id in created:
        lead = client.get(f"/api/v1/leads/{lead_id}", headers=auth(keys["read"])).get_json()
        assert (lead["pipeline_stage"], lead["organization_id"]) == ("contacted", org_id)

    assert len(walk(client, keys["read"], "/audit-log", action="lead.created", limit=200)) == audited[
        "lead.created"
    ] + len(created)
    updates = walk(client, keys["read"], "/audit-log", action="lead.updated", limit=200)
    assert len(updates) == audited["lead.updated"] + len(created) + THREADS

    listed = [lead["id"] for lead in walk(client, keys["read"], "/leads", limit=37)]
    assert len(listed) == len(set(listed)) and set(listed) == set(seeded) | set(created)
    assert listed == [lead["id"] for lead in sandbox.store.scan("lead", org_id)]


def test_concurrent_patches_of_one_lead_form_an_unbroken_chain(app, keys, sandbox):
    """Every patch saw the value the previous one wrote: no update was lost in a race."""
    org_id = keys["org_id"]
    lead = next(sandbox.store.scan("lead", org_id))
    barrier = threading.Barrier(THREADS)

    def patch(worker: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.patch(
            f"/api/v1/leads/{lead['id']}", json={"budget_range": f"band-{worker}"}, headers=auth(keys["write"])
        )
        assert response.status_code == 200

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(patch, worker) for worker in range(THREADS)]:
            future.result(timeout=60)

    diffs = [
        event["payload"]["diff"]["budget_range"]
        for event in sandbox.store.scan("audit_event", org_id)
        if event["action"] == "lead.updated"
        and event["payload"]["lead_id"] == lead["id"]
        and "budget_range" in event["payload"]["diff"]
    ]
    assert len(diffs) == THREADS
    final = sandbox.store.get("lead", org_id, lead["id"])["budget_range"]
    froms, tos = [d["from"] for d in diffs], [d["to"] for d in diffs]
    assert sorted(tos) == sorted(f"band-{worker}" for worker in range(THREADS))
    assert sorted(froms, key=str) == sorted([lead["budget_range"], *(t for t in tos if t != final)], key=str)
