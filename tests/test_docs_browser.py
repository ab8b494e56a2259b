"""/docs in a real browser: Debian's Chromium driven by playwright. The page mints the visitor a
personal sandbox, keeps it across a reload, and runs "Try it out" on GET and POST /api/v1/leads with
one of that sandbox's keys; the HTML the server sends carries no key at all. Its top bar then
switches to the control-plane document, which is called with the same key.

Chromium comes from the system (``apt-get install chromium``), never from a download. Without
it the test is skipped on a laptop and fails under CI (``CI`` set), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCREENSHOT = Path(__file__).parent / "artifacts" / "docs-try-it-out.png"
TIMEOUT_MS = 30_000
NEW_LEAD = {"name": "Dana Whitfield", "email": "dana.whitfield@example.com", "company": "Whitfield Roofing"}


@pytest.fixture
def docs_page(chromium: Any, eal_sandbox: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{eal_sandbox.base_url}/docs")
    page.wait_for_selector("body[data-sandbox-ready=true]")
    yield page
    context.close()


def open_operation(page: Any, tag: str, operation_id: str) -> Any:
    """Expand an operation and press "Try it out"; return its block."""
    block = page.locator(f"#operations-{tag}-{operation_id}")
    if not block.locator(".opblock-body").count():
        block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    return block


def execute(block: Any) -> tuple[int, str]:
    """Press Execute; return the rendered live response's status and body text."""
    block.locator("button.execute").click()
    response = block.locator(".live-responses-table .response").first
    response.wait_for()
    status = response.locator(".response-col_status").inner_text().strip()
    body = response.locator(".response-col_description pre").first.inner_text()
    return int(status.split()[0]), body


def try_it_out_area(block: Any) -> dict[str, float]:
    """Page coordinates from an operation's header down to its live response."""
    return block.evaluate("""block => {
        const top = block.getBoundingClientRect();
        const live = block.querySelector(".live-responses-table").getBoundingClientRect();
        return {x: top.left + window.scrollX, y: top.top + window.scrollY,
                width: top.width, height: live.bottom - top.top};
    }""")


def personal_sandbox(page: Any) -> dict[str, Any]:
    """The sandbox the page keeps for this visitor, as it answered when minted."""
    return dict(json.loads(page.evaluate("window.localStorage.getItem('eal-sandbox/personal')")))


def test_the_page_carries_no_key_and_mints_a_personal_sandbox(docs_page: Any, eal_sandbox: Any) -> None:
    import httpx

    html = httpx.get(f"{eal_sandbox.base_url}/docs").text
    assert "eal_test_" not in html
    mine = personal_sandbox(docs_page)
    assert docs_page.get_attribute("body", "data-sandbox-id") == mine["id"]
    options = docs_page.locator("#sandbox-key option")
    assert sorted(options.evaluate_all("options => options.map(o => o.value)")) == sorted(
        key["token"] for key in mine["keys"]
    )
    current = httpx.get(
        f"{eal_sandbox.base_url}/_sandbox/sandboxes/current",
        headers={"Authorization": f"Bearer {docs_page.locator('#sandbox-key').input_value()}"},
    )
    assert current.json()["id"] == mine["id"]
    docs_page.reload()
    docs_page.wait_for_selector("body[data-sandbox-ready=true]")
    assert personal_sandbox(docs_page)["id"] == mine["id"]  # kept in the browser's storage
    # Once it is gone (expired or deleted), the next visit mints a fresh one.
    network_admin = next(
        key["token"] for key in mine["keys"] if key["parent_organization_id"] is None and "admin" in key["scopes"]
    )
    httpx.delete(
        f"{eal_sandbox.base_url}/_sandbox/sandboxes/current", headers={"Authorization": f"Bearer {network_admin}"}
    ).raise_for_status()
    docs_page.reload()
    docs_page.wait_for_selector("body[data-sandbox-ready=true]")
    assert personal_sandbox(docs_page)["id"] != mine["id"]


def test_try_it_out_on_list_and_create_leads(docs_page: Any, eal_sandbox: Any) -> None:
    # One page load for the whole walk: Swagger UI takes seconds to resolve a 3.1 spec this size.
    assert docs_page.locator("#operations-tag-leads").is_visible()
    assert not docs_page.locator("#operations-tag-sandbox-clock").count()  # the v1 document comes first
    mine = personal_sandbox(docs_page)
    location_admin = next(
        key["token"] for key in mine["keys"] if key["parent_organization_id"] is not None and "admin" in key["scopes"]
    )
    assert docs_page.locator("#sandbox-key").input_value() == location_admin

    listing = open_operation(docs_page, "leads", "list_leads")
    listing.locator("tr[data-param-name='limit'] input").fill("2")
    status, body = execute(listing)
    assert status == 200, body
    page_of_leads = json.loads(body)
    assert len(page_of_leads["data"]) == 2
    assert "next_cursor" in page_of_leads
    assert "Bearer eal_test_" in listing.locator(".curl-command").inner_text()

    creating = open_operation(docs_page, "leads", "create_lead")
    creating.locator("textarea.body-param__text").fill(json.dumps(NEW_LEAD))
    status, body = execute(creating)
    assert status == 201, body
    created = json.loads(body)
    assert created["email"] == NEW_LEAD["email"]

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    docs_page.screenshot(path=str(SCREENSHOT), full_page=True, clip=try_it_out_area(creating))
    assert SCREENSHOT.stat().st_size > 10_000


def test_the_control_plane_is_the_second_document(docs_page: Any) -> None:
    docs_page.locator(".topbar select").select_option(label="Sandbox control plane")
    docs_page.wait_for_selector("#operations-tag-sandbox-journal")
    assert not docs_page.locator("#operations-tag-leads").count()
    journal = open_operation(docs_page, "sandbox-journal", "list_journal")
    status, body = execute(journal)  # needs a read key: the authorization survived the switch
    assert status == 200, body
    assert "data" in json.loads(body)
