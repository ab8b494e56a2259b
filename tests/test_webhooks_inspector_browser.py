"""/docs/webhooks in a real browser (Debian's Chromium driven by playwright, as for /docs): the page
opens its personal sandbox's event stream, a test event sent from it appears with its delivery
attempts (the error and the next attempt of a receiver answering 500, the headers and the exact
signed string, which verifies in the page with the subscription's secret), a replay comes back over
the stream with the same event id, and a screenshot is saved. Every wait is on the page changing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Receiver, auth
from tests.test_docs_browser import TIMEOUT_MS

SCREENSHOT = Path(__file__).parent / "artifacts" / "webhooks-inspector.png"


@pytest.fixture
def inspector(chromium: Any, eal_sandbox: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{eal_sandbox.base_url}/docs/webhooks")
    page.wait_for_selector("body[data-stream=live]")
    yield page
    context.close()


def test_trigger_see_it_arrive_with_its_attempts_verify_and_replay(inspector: Any, eal_sandbox: Any) -> None:
    page = inspector
    assert "eal_test_" not in httpx.get(f"{eal_sandbox.base_url}/docs/webhooks").text  # no key in the HTML
    mine = json.loads(page.evaluate("window.localStorage.getItem('eal-sandbox/personal')"))
    admin = page.locator("#sandbox-key").input_value()
    assert admin in {key["token"] for key in mine["keys"] if "admin" in key["scopes"]}
    listener = httpx.get(f"{eal_sandbox.base_url}/_sandbox/listener", headers=auth(admin)).json()
    assert page.locator("#listener-secret").inner_text() == listener["signing_secret"]

    receiver = Receiver(status=500)  # every attempt fails: the timeline shows errors and the next attempt
    try:
        webhook = httpx.post(
            f"{eal_sandbox.base_url}/api/v1/webhooks",
            headers=auth(admin),
            json={"url": receiver.url, "events": ["lead.created"]},
        ).json()
        page.select_option("#test-event-type", "lead.created")
        page.click("#send-test-event")
        row = page.locator("#events li[data-type='lead.created']").first
        row.wait_for()
        event_id = row.get_attribute("data-event-id")
        row.click()
        page.wait_for_selector("#event-detail:not([hidden])")
        assert event_id in page.locator("#detail-title").inner_text()
        assert json.loads(page.locator("#payload").inner_text())["id"] == event_id

        failed = page.locator("#attempts .attempt[data-status='retrying']").first
        failed.wait_for()
        assert "error: endpoint answered HTTP 500" in failed.inner_text()
        assert "next attempt at " in failed.inner_text()
        failed.locator("summary").click()
        sent = receiver.wait_for(1)[0]
        signed = f"{sent.headers['x-eal-timestamp']}.{sent.body.decode()}"
        assert failed.locator(".signed-content").inner_text() == signed
        assert page.locator("#raw-body").inner_text() == sent.body.decode()

        page.fill("#verify-secret", "whsec_not_the_secret")
        page.click("#verify")
        page.wait_for_function("document.getElementById('verify-result').textContent.startsWith('\u2717')")
        page.fill("#verify-secret", webhook["signing_secret"])
        page.click("#verify")
        page.wait_for_function("document.getElementById('verify-result').textContent.startsWith('\u2713')")
        assert page.locator("#verify-result").inner_text().startswith("\u2713 matches X-EAL-Signature")

        replays_before = page.locator(f"#events li[data-event-id='{event_id}'] .status").inner_text()
        assert "sent 2\u00d7" not in replays_before
        page.click("#replay")
        page.wait_for_selector(f"#events li[data-event-id='{event_id}'] .status:has-text('sent 2\u00d7')")
        assert "replayed " + str(event_id) in page.locator("#notice").inner_text()
        page.wait_for_function(  # the replay's own first attempt arrives, pushed (retries are #2, #3, …)
            "() => [...document.querySelectorAll('#attempts .attempt .line')]"
            ".filter(line => line.textContent.startsWith('#1 ')).length === 2"
        )
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert SCREENSHOT.stat().st_size > 10_000
    finally:
        receiver.close()
