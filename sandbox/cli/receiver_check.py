"""``check-receiver``: prove a webhook receiver verifies what the sandbox signs.

Five deliveries go to the receiver, in this order; a correct receiver accepts the first and
rejects the rest:

1. ``valid``          a correctly signed, fresh event                        → 2xx
2. ``forged``         signed with a secret that is not the receiver's         → 4xx
3. ``stale``          correctly signed, but X-EAL-Timestamp 10 minutes old    → 4xx
4. ``replayed``       the valid event's id again, freshly and correctly signed → 4xx (409 is usual)
5. ``altered``        the body changed after signing                          → 4xx

A 5xx answer to an attack counts as a FAIL: it tells a sender to retry, not that the delivery
was refused. Signatures are made with ``sandbox.webhooks.signing``, on the receiver's clock
(real time), exactly as deliveries are.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ..services.webhooks.delivery import USER_AGENT
from ..services.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

STALE_SECONDS = 600
ORG_ID = "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91"


@dataclass(frozen=True)
class CheckResult:
    name: str
    expected: str
    status: int | None
    passed: bool
    detail: str


@dataclass(frozen=True)
class _Delivery:
    body: bytes
    timestamp: int
    event_id: str
    signing_secret: str
    sent_body: bytes | None = None  # what goes on the wire when it differs from what was signed


def _event(event_id: str) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    event = {
        "id": event_id,
        "type": "lead.created",
        "created_at": now,
        "organization_id": ORG_ID,
        "data": {
            "id": "3f1c2b9a-6d4e-4f8a-9b2c-1e7d5a0c4b11",
            "organization_id": ORG_ID,
            "name": "Sarah Mitchell",
            "email": "sarah@example.com",
            "source": "website",
            "lead_score": 72,
            "pipeline_stage": "new",
            "created_at": now,
            "updated_at": now,
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def _new_event_id() -> str:
    return "evt_check" + secrets.token_hex(4)


def plan(secret: str) -> list[tuple[str, str, Callable[[int], bool], _Delivery]]:
    """The five deliveries: (name, expected, acceptance test on the status, delivery)."""
    now = int(time.time())
    valid_id = _new_event_id()
    forged_id, stale_id, altered_id = _new_event_id(), _new_event_id(), _new_event_id()
    accepted = _is_2xx
    rejected = _is_4xx
    altered_body = _event(altered_id)
    tampered = altered_body.replace(b'"lead_score":72', b'"lead_score":99')
    return [
        ("valid", "accepted (2xx)", accepted, _Delivery(_event(valid_id), now, valid_id, secret)),
        (
            "forged signature",
            "rejected (4xx)",
            rejected,
            _Delivery(_event(forged_id), now, forged_id, "whsec_" + secrets.token_urlsafe(24)),
        ),
        (
            "stale timestamp (10 min)",
            "rejected (4xx)",
            rejected,
            _Delivery(_event(stale_id), now - STALE_SECONDS, stale_id, secret),
        ),
        ("replayed event id", "rejected (4xx)", rejected, _Delivery(_event(valid_id), now, valid_id, secret)),
        (
            "body altered after signing",
            "rejected (4xx)",
            rejected,
            _Delivery(altered_body, now, altered_id, secret, sent_body=tampered),
        ),
    ]


def _is_2xx(status: int) -> bool:
    return 200 <= status < 300


def _is_4xx(status: int) -> bool:
    return 400 <= status < 500


def check_receiver(
    url: str, secret: str, *, timeout: float = 5.0, client: httpx.Client | None = None
) -> list[CheckResult]:
    """Send the five deliveries to ``url`` and judge each answer."""
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
    results = []
    try:
        for number, (name, expected, ok, delivery) in enumerate(plan(secret), start=1):
            results.append(_send(http, url, number, name, expected, ok, delivery))
    finally:
        if own:
            http.close()
    return results


def _send(
    http: httpx.Client,
    url: str,
    number: int,
    name: str,
    expected: str,
    ok: Callable[[int], bool],
    delivery: _Delivery,
) -> CheckResult:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(delivery.timestamp),
        SIGNATURE_HEADER: sign(delivery.signing_secret, delivery.timestamp, delivery.body),
        "X-EAL-Event-Id": delivery.event_id,
        "X-EAL-Event-Type": "lead.created",
        "X-EAL-Delivery-Id": f"whd_check{number}",
        "X-EAL-Delivery-Attempt": "1",
    }
    try:
        response = http.post(url, content=delivery.sent_body or delivery.body, headers=headers)
    except httpx.HTTPError as error:
        return CheckResult(name, expected, None, False, f"no answer: {type(error).__name__}: {error}")
    status = response.status_code
    passed = ok(status)
    detail = "" if passed else _why(status)
    return CheckResult(name, expected, status, passed, detail)


def _why(status: int) -> str:
    if _is_2xx(status):
        return "accepted: the receiver would act on this delivery"
    if status >= 500:
        return "5xx tells the sender to retry; refuse with a 4xx"
    return f"answered {status}"


def table(results: list[CheckResult]) -> str:
    """A PASS/FAIL table for a terminal."""
    rows: list[tuple[str, ...]] = [("check", "expected", "got", "result", "")]
    rows += [
        (
            r.name,
            r.expected,
            "-" if r.status is None else str(r.status),
            "PASS" if r.passed else "FAIL",
            r.detail,
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    failed = sum(1 for r in results if not r.passed)
    lines.append(
        f"\n{len(results) - failed}/{len(results)} passed" + (f", {failed} FAILED" if failed else "")
    )
    return "\n".join(line.rstrip() for line in lines)


def summary(results: list[CheckResult]) -> dict[str, Any]:
    return {"passed": all(r.passed for r in results), "checks": [r.__dict__ for r in results]}
