"""One delivery attempt: sign, POST to a vetted address, and say how it went.

The URL is vetted again before every attempt and the request goes to an address that check
approved (Host header and TLS SNI keep the original name), so a DNS answer that changes after
the check (rebinding) cannot steer a delivery onto an internal address. Redirects are not
followed: a 3xx is a failed attempt, like any other non-2xx.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from .deadline import DeadlineTransport, deadline
from .schedule import parse_retry_after
from .signing import TIMESTAMP_HEADER, signature_headers
from .urls import Endpoint, EndpointRefused, IPAddress, resolve_endpoint

USER_AGENT = "EAL-Sandbox-Webhooks/1.0"
RESPONSE_READ_LIMIT = 64 * 1024  # read small answers so the connection can be reused; ignore the rest
RETRY_AFTER_STATUSES = (429, 503)


@dataclass(frozen=True)
class Attempt:
    """What one attempt sends: the event's fixed body plus this attempt's identity."""

    delivery_id: str
    event_id: str
    event_type: str
    body: bytes
    number: int
    timestamp: int


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended."""

    response_status: int | None
    latency_ms: int
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300

    @property
    def gone(self) -> bool:
        return self.response_status == 410


def event_body(event: Mapping[str, Any]) -> bytes:
    """The bytes every delivery of an event carries (and the listeners' streams, and the inspector)."""
    return json.dumps(event, separators=(",", ":"), default=str).encode()


def attempt_headers(attempt: Attempt, signing_secrets: list[str]) -> dict[str, str]:
    """The headers of one attempt: fresh timestamp and signatures, the same event id."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(attempt.timestamp),
        **signature_headers(signing_secrets, attempt.timestamp, attempt.body),
        "X-EAL-Event-Id": attempt.event_id,
        "X-EAL-Event-Type": attempt.event_type,
        "X-EAL-Delivery-Id": attempt.delivery_id,
        "X-EAL-Delivery-Attempt": str(attempt.number),
    }


def default_client(timeout: float, workers: int) -> httpx.Client:
    """An HTTP client for deliveries: pooled, no redirects, no proxies from the environment."""
    limits = httpx.Limits(max_connections=workers * 2, max_keepalive_connections=workers * 2)
    # httpcore writes headers and body separately; without TCP_NODELAY the body waits for the
    # receiver's delayed ACK (~40 ms) on every delivery.
    no_delay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    transport = DeadlineTransport(limits=limits, socket_options=no_delay)
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, transport=transport)


class Sender:
    """POSTs attempts to endpoints that pass the SSRF guard at the moment of sending."""

    def __init__(self, client: httpx.Client, *, timeout: float, allow_private: bool) -> None:
        self.client, self.timeout, self.allow_private = client, timeout, allow_private

    def send(self, url: str, attempt: Attempt, signing_secrets: list[str]) -> Outcome:
        """Deliver one attempt within ``timeout`` seconds in all and return its outcome; never raises:
        whatever goes wrong (the network, a URL the client cannot use) is a failed attempt with its error."""
        started = time.perf_counter()
        try:
            with deadline(self.timeout):
                return self._send(url, attempt, signing_secrets, started)
        except Exception as failure:  # an attempt must end, failed, whatever it met
            return Outcome(None, _elapsed_ms(started), f"{type(failure).__name__}: {failure}")

    def _send(self, url: str, attempt: Attempt, signing_secrets: list[str], started: float) -> Outcome:
        try:
            endpoint = resolve_endpoint(url, allow_private=self.allow_private)
        except EndpointRefused as refused:
            return Outcome(None, _elapsed_ms(started), f"endpoint refused: {refused}")
        headers = attempt_headers(attempt, signing_secrets)
        error = "no address to connect to"
        # Try each vetted address in turn, as socket.create_connection would.
        for address in endpoint.addresses:
            try:
                return self._post(url, endpoint, address, headers, attempt.body, started)
            except httpx.ConnectError as failure:
                error = f"connection failed: {failure}"
            except httpx.TimeoutException:
                return Outcome(None, _elapsed_ms(started), f"timed out: no full answer within {self.timeout:g} s")
            except httpx.HTTPError as failure:
                return Outcome(None, _elapsed_ms(started), f"{type(failure).__name__}: {failure}")
        return Outcome(None, _elapsed_ms(started), error)

    def _post(
        self, url: str, endpoint: Endpoint, address: IPAddress, headers: dict[str, str], body: bytes, started: float
    ) -> Outcome:
        """POST to ``address`` while presenting the URL's own host name."""
        original = httpx.URL(url)
        target = original.copy_with(host=str(address))
        extensions = {"sni_hostname": endpoint.host} if endpoint.scheme == "https" else None
        pinned_headers = {**headers, "Host": original.netloc.decode("ascii")}
        with self.client.stream(
            "POST", target, content=body, headers=pinned_headers, timeout=self.timeout, extensions=extensions
        ) as response:
            _read_some(response)
        status = response.status_code
        retry_after = None
        if status in RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        error = None if 200 <= status < 300 else f"endpoint answered HTTP {status}"
        return Outcome(status, _elapsed_ms(started), error, retry_after)


def _read_some(response: httpx.Response) -> None:
    read = 0
    for chunk in response.iter_raw():
        read += len(chunk)
        if read >= RESPONSE_READ_LIMIT:
            break


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
