"""``check-receiver``: prove a webhook receiver verifies what the sandbox signs.

Nine deliveries go to the receiver, in this order, each built (and signed, on real time, with
``sandbox.services.webhooks.signing``, exactly as deliveries are) when it is sent:

1. ``valid``                     a correctly signed, fresh event                          → 2xx
2. ``forged signature``          signed with a secret that is not the receiver's           → 4xx
3. ``timestamp 10 min old``      correctly signed, X-EAL-Timestamp 10 minutes in the past  → 4xx
4. ``timestamp 10 min ahead``    correctly signed, X-EAL-Timestamp 10 minutes in the future → 4xx
5. ``replayed event id``         the valid event's id again, freshly and correctly signed   → 4xx (409 is usual)
6. ``body altered after signing``                                                           → 4xx
7. ``signature headers missing`` no X-EAL-Signature, -Previous or X-EAL-Timestamp           → 4xx
8. ``JSON re-spaced, re-signed`` the body with other whitespace, signed over those bytes    → 2xx
   (a receiver must verify the raw bytes, not a re-encoding of the parsed JSON)
9. ``rotation: secret in -Previous only``  X-EAL-Signature made with a newer secret, the
   receiver's secret only in X-EAL-Signature-Previous                                      → 2xx

A 5xx answer to an attack counts as a FAIL: it tells a sender to retry, not that the delivery
was refused. When the valid delivery is not accepted (a wrong secret, an unreachable receiver)
the other checks cannot be judged — a receiver that refuses everything would "pass" every
attack — so they are SKIP, and not sent.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..services.webhooks.delivery import USER_AGENT
from ..services.webhooks.signing import PREVIOUS_SIGNATURE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SKEW_SECONDS = 600  # the stale and future timestamps: twice the 5-minute tolerance
ORG_ID = "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91"
ACCEPTED, REJECTED = "accepted (2xx)", "rejected (4xx)"
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass(frozen=True)
class CheckResult:
    name: str
    expected: str
    status: int | None
    result: str  # PASS | FAIL | SKIP
    detail: str

    @property
    def passed(self) -> bool:
        return self.result == PASS


@dataclass(frozen=True)
class Delivery:
    body: bytes  # what goes on the wire
    headers: dict[str, str]  # the signature headers (and the timestamp) this delivery carries
    event_id: str


@dataclass(frozen=True)
class Check:
    name: str
    accept: bool  # a correct receiver accepts (2xx) rather than refuses (4xx)
    build: Callable[[int], Delivery]  # the delivery, from the current unix time
    hint: str  # what a receiver that got it wrong should do

    @property
    def expected(self) -> str:
        return ACCEPTED if self.accept else REJECTED


def check_url(url: str) -> str:
    """``url`` if it is an http:// or https:// URL with a host; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{url}' is not an http:// or https:// URL (the checker POSTs deliveries to it)")
    return url


def _event(event_id: str, **dumps: Any) -> bytes:
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
    return json.dumps(event, **(dumps or {"separators": (",", ":")})).encode()  # compact, as the sandbox sends


def _new_event_id() -> str:
    return "evt_check" + secrets.token_hex(4)


def _other_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(24)


def _signed(body: bytes, event_id: str, secret: str, timestamp: int, sent: bytes | None = None) -> Delivery:
    headers = {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}
    return Delivery(body if sent is None else sent, headers, event_id)


def plan(secret: str) -> list[Check]:
    """The checks, in the order they are sent."""
    valid_id = _new_event_id()

    def fresh(build: Callable[[str, int], Delivery]) -> Callable[[int], Delivery]:
        return lambda now: build(_new_event_id(), now)

    def altered(event_id: str, now: int) -> Delivery:
        body = _event(event_id)
        return _signed(body, event_id, secret, now, sent=body.replace(b'"lead_score":72', b'"lead_score":99'))

    def unsigned(event_id: str, now: int) -> Delivery:
        return Delivery(_event(event_id), {}, event_id)

    def respaced(event_id: str, now: int) -> Delivery:
        return _signed(_event(event_id, indent=2, separators=(", ", ": ")), event_id, secret, now)

    def rotated(event_id: str, now: int) -> Delivery:
        body = _event(event_id)
        delivery = _signed(body, event_id, _other_secret(), now)  # the newer secret the receiver lacks
        delivery.headers[PREVIOUS_SIGNATURE_HEADER] = sign(secret, now, body)
        return delivery

    refuse = "accepted: the receiver would act on this delivery"
    stale = "accepted: refuse timestamps more than 5 minutes from your clock"
    return [
        Check(
            "valid",
            True,
            lambda now: _signed(_event(valid_id), valid_id, secret, now),
            "refused a correctly signed, fresh delivery: is --secret the receiver's secret?",
        ),
        Check("forged signature", False, fresh(lambda i, now: _signed(_event(i), i, _other_secret(), now)), refuse),
        Check(
            "timestamp 10 min old",
            False,
            fresh(lambda i, now: _signed(_event(i), i, secret, now - SKEW_SECONDS)),
            stale,
        ),
        Check(
            "timestamp 10 min ahead",
            False,
            fresh(lambda i, now: _signed(_event(i), i, secret, now + SKEW_SECONDS)),
            stale,
        ),
        Check(
            "replayed event id",
            False,
            lambda now: _signed(_event(valid_id), valid_id, secret, now),
            "accepted the same X-EAL-Event-Id twice: de-duplicate on it (retries and replays reuse it)",
        ),
        Check("body altered after signing", False, fresh(altered), refuse),
        Check("signature headers missing", False, fresh(unsigned), refuse),
        Check(
            "JSON re-spaced, re-signed",
            True,
            fresh(respaced),
            "refused: verify the raw body bytes as received, not a re-encoding of the parsed JSON",
        ),
        Check(
            "rotation: secret in -Previous only",
            True,
            fresh(rotated),
            "refused: during a rotation also accept a match in X-EAL-Signature-Previous (comma-separated)",
        ),
    ]


def run_checks(
    url: str,
    secret: str,
    *,
    timeout: float = 5.0,
    client: httpx.Client | None = None,
    on_start: Callable[[Check], None] | None = None,
) -> Iterator[CheckResult]:
    """Send the deliveries to ``url`` one by one, yielding each verdict as soon as it is known
    (``on_start`` is told before each request, so a slow receiver never looks like a hang)."""
    check_url(url)
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
    try:
        judged = True
        for number, check in enumerate(plan(secret), start=1):
            if on_start is not None:
                on_start(check)
            if not judged:
                yield CheckResult(
                    check.name, check.expected, None, SKIP, "not judged: the valid delivery was not accepted"
                )
                continue
            result = _send(http, url, number, check)
            judged = number > 1 or result.passed
            yield result
    finally:
        if own:
            http.close()


def check_receiver(
    url: str, secret: str, *, timeout: float = 5.0, client: httpx.Client | None = None
) -> list[CheckResult]:
    """Every verdict, once all deliveries were sent."""
    return list(run_checks(url, secret, timeout=timeout, client=client))


def _send(http: httpx.Client, url: str, number: int, check: Check) -> CheckResult:
    delivery = check.build(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **delivery.headers,
        "X-EAL-Event-Id": delivery.event_id,
        "X-EAL-Event-Type": "lead.created",
        "X-EAL-Delivery-Id": f"whd_check{number}",
        "X-EAL-Delivery-Attempt": "1",
    }
    try:
        response = http.post(url, content=delivery.body, headers=headers)
    except httpx.HTTPError as error:
        return CheckResult(check.name, check.expected, None, FAIL, f"no answer: {type(error).__name__}: {error}")
    status = response.status_code
    ok = 200 <= status < 300 if check.accept else 400 <= status < 500
    return CheckResult(check.name, check.expected, status, PASS if ok else FAIL, "" if ok else _why(check, status))


def _why(check: Check, status: int) -> str:
    if status >= 500:
        return "5xx tells the sender to retry; answer 2xx or refuse with a 4xx"
    if 300 <= status < 400:
        return f"answered {status}: redirects are not followed; answer at this URL"
    if check.accept or 200 <= status < 300:
        return check.hint
    return f"answered {status}"


# Output --------------------------------------------------------------------------------------

NAME_WIDTH = max(len(check.name) for check in plan("whsec_x"))
EXPECTED_WIDTH = max(len(ACCEPTED), len(REJECTED))


def header() -> list[str]:
    columns = f"{'check':<{NAME_WIDTH}}  {'expected':<{EXPECTED_WIDTH}}  got  result"
    return [columns, f"{'-' * NAME_WIDTH}  {'-' * EXPECTED_WIDTH}  ---  ------"]


def row_start(check: Check) -> str:
    """The start of a check's line, printed before its delivery is sent."""
    return f"{check.name:<{NAME_WIDTH}}  {check.expected:<{EXPECTED_WIDTH}}  "


def row_end(result: CheckResult) -> str:
    got = "-" if result.status is None else str(result.status)
    return f"{got:<3}  {result.result}  {result.detail}".rstrip()


def totals(results: list[CheckResult]) -> str:
    failed = sum(1 for r in results if r.result == FAIL)
    skipped = sum(1 for r in results if r.result == SKIP)
    passed = len(results) - failed - skipped
    return (
        f"{passed}/{len(results)} passed"
        + (f", {failed} FAILED" if failed else "")
        + (f", {skipped} skipped" if skipped else "")
    )


def summary(results: list[CheckResult]) -> dict[str, Any]:
    return {"passed": all(r.passed for r in results), "totals": totals(results), "checks": [asdict(r) for r in results]}
