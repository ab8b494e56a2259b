"""check-receiver against loopback receivers that get webhook verification right, and receivers
that each get one thing wrong: every mistake shows up as a FAIL, and only that one."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.cli.receiver_check import check_receiver, run_checks
from sandbox.services.webhooks import verify_signature

SECRET = "whsec_" + "R" * 32
NAMES = [
    "valid",
    "forged signature",
    "timestamp 10 min old",
    "timestamp 10 min ahead",
    "replayed event id",
    "body altered after signing",
    "signature headers missing",
    "JSON re-spaced, re-signed",
    "rotation: secret in -Previous only",
]

Verify = Callable[[bytes, dict[str, str]], bool]  # (raw body, lower-cased headers) -> signature ok


def hmac_hex(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def correct(body: bytes, headers: dict[str, str]) -> bool:
    return verify_signature(body, headers, SECRET)


def ignores_timestamps(body: bytes, headers: dict[str, str]) -> bool:
    """Checks the HMAC (current and previous signatures) but never the timestamp's age."""
    if "x-eal-signature" not in headers or "x-eal-timestamp" not in headers:
        return False
    expected = hmac_hex(SECRET, headers["x-eal-timestamp"], body)
    received = [headers["x-eal-signature"], *headers.get("x-eal-signature-previous", "").split(",")]
    return any(hmac.compare_digest(expected, s) for s in received)


def re_encodes(body: bytes, headers: dict[str, str]) -> bool:
    """Verifies the parsed-then-re-serialized JSON (as JSON.stringify(req.body) would), not the raw bytes."""
    return verify_signature(json.dumps(json.loads(body), separators=(",", ":")).encode(), headers, SECRET)


def current_signature_only(body: bytes, headers: dict[str, str]) -> bool:
    """Ignores X-EAL-Signature-Previous, so it breaks during a rotation."""
    return verify_signature(body, {k: v for k, v in headers.items() if k != "x-eal-signature-previous"}, SECRET)


def wrong_secret(body: bytes, headers: dict[str, str]) -> bool:
    return verify_signature(body, headers, "whsec_" + "W" * 32)


def only_when_signed(body: bytes, headers: dict[str, str]) -> bool:
    """Verifies a signature when there is one, and lets unsigned deliveries through."""
    return "x-eal-signature" not in headers or correct(body, headers)


class Receiver:
    """A receiver on loopback: 401 unless ``verify`` passes, 409 for an event id seen before
    (``verify=None`` accepts everything, like a receiver that checks nothing)."""

    def __init__(self, verify: Verify | None, refusal: int = 401) -> None:
        self.arrivals: list[float] = []
        seen: set[str] = set()
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                receiver.arrivals.append(time.monotonic())
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = 200
                if verify is not None:
                    if not verify(body, headers):
                        status = refusal
                    else:
                        with lock:
                            event_id = headers["x-eal-event-id"]
                            status = 409 if event_id in seen else 200
                            seen.add(event_id)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/eal"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(verify: Verify | None, refusal: int = 401) -> Receiver:
        started.append(Receiver(verify, refusal))
        return started[-1]

    yield start
    for receiver in started:
        receiver.close()


def verdicts(url: str) -> dict[str, tuple[str, int | None]]:
    results = check_receiver(url, SECRET, timeout=5)
    assert [r.name for r in results] == NAMES
    return {r.name: (r.result, r.status) for r in results}


def test_a_correct_receiver_passes_every_check(serve: Callable[..., Receiver]) -> None:
    assert verdicts(serve(correct).url) == {
        "valid": ("PASS", 200),
        "forged signature": ("PASS", 401),
        "timestamp 10 min old": ("PASS", 401),
        "timestamp 10 min ahead": ("PASS", 401),
        "replayed event id": ("PASS", 409),
        "body altered after signing": ("PASS", 401),
        "signature headers missing": ("PASS", 401),
        "JSON re-spaced, re-signed": ("PASS", 200),
        "rotation: secret in -Previous only": ("PASS", 200),
    }


@pytest.mark.parametrize(
    ("receiver", "failing"),
    [
        (ignores_timestamps, {"timestamp 10 min old", "timestamp 10 min ahead"}),
        (re_encodes, {"JSON re-spaced, re-signed"}),
        (current_signature_only, {"rotation: secret in -Previous only"}),
        (only_when_signed, {"signature headers missing"}),
        (None, set(NAMES) - {"valid", "JSON re-spaced, re-signed", "rotation: secret in -Previous only"}),
    ],
    ids=["ignores timestamps", "re-encodes the JSON", "current signature only", "lets unsigned through", "naive"],
)
def test_each_mistake_fails_exactly_its_checks(
    serve: Callable[..., Receiver], receiver: Verify | None, failing: set[str]
) -> None:
    results = verdicts(serve(receiver).url)
    assert {name for name, (result, _) in results.items() if result == "FAIL"} == failing
    assert all(result == "PASS" for name, (result, _) in results.items() if name not in failing)


def test_when_the_valid_delivery_is_refused_nothing_else_is_judged_or_sent(serve: Callable[..., Receiver]) -> None:
    receiver = serve(wrong_secret)
    results = check_receiver(receiver.url, SECRET)
    assert (results[0].result, results[0].status) == ("FAIL", 401)
    assert "is --secret the receiver's secret?" in results[0].detail
    assert [r.result for r in results[1:]] == ["SKIP"] * 8 and len(receiver.arrivals) == 1
    assert all(r.detail == "not judged: the valid delivery was not accepted" for r in results[1:])


def test_a_5xx_refusal_fails_it_asks_for_a_retry(serve: Callable[..., Receiver]) -> None:
    results = check_receiver(serve(correct, refusal=500).url, SECRET)
    forged = next(r for r in results if r.name == "forged signature")
    assert (forged.result, forged.status) == ("FAIL", 500) and "5xx tells the sender to retry" in forged.detail


def test_each_check_is_announced_before_it_is_sent_and_reported_before_the_next(
    serve: Callable[..., Receiver],
) -> None:
    receiver = serve(correct)
    announced: list[str] = []
    arrivals_at_announce: list[int] = []

    def on_start(check: Any) -> None:
        announced.append(check.name)
        arrivals_at_announce.append(len(receiver.arrivals))

    arrivals_at_verdict = []
    for result in run_checks(receiver.url, SECRET, on_start=on_start):
        assert announced[-1] == result.name
        arrivals_at_verdict.append(len(receiver.arrivals))
    assert arrivals_at_announce == list(range(9))  # announced before its request reached the receiver
    assert arrivals_at_verdict == list(range(1, 10))  # reported before the next request went out


def test_the_command_prints_a_table_and_exits_non_zero_on_any_fail(serve: Callable[..., Receiver]) -> None:
    good = CliRunner().invoke(main, ["check-receiver", serve(correct).url, "--secret", SECRET])
    lines = good.output.splitlines()
    assert lines[0].split() == ["check", "expected", "got", "result"]
    assert good.exit_code == 0 and lines[-1] == "9/9 passed" and "FAIL" not in good.output
    assert [line.split("  ")[0].strip() for line in lines[2:11]] == NAMES
    lax = CliRunner().invoke(main, ["check-receiver", serve(ignores_timestamps).url, "--secret", SECRET])
    assert lax.exit_code == 1 and lax.output.splitlines()[-1] == "7/9 passed, 2 FAILED"
    assert lax.output.count("accepted: refuse timestamps more than 5 minutes from your clock") == 2
    wrong = CliRunner().invoke(main, ["check-receiver", serve(wrong_secret).url, "--secret", SECRET, "--json"])
    assert wrong.exit_code == 1
    report = json.loads(wrong.stdout)
    assert report["passed"] is False and report["totals"] == "0/9 passed, 1 FAILED, 8 skipped"
    assert [c["result"] for c in report["checks"]] == ["FAIL"] + ["SKIP"] * 8
    assert "valid" in wrong.stderr  # the progress table goes to stderr with --json


def test_an_unresponsive_receiver_is_one_timeout_not_nine() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        result = CliRunner().invoke(main, ["check-receiver", url, "--secret", SECRET, "--timeout", "0.3"])
    finally:
        listener.close()
    assert result.exit_code == 1
    valid = result.output.splitlines()[2]
    assert valid.startswith("valid") and "FAIL  no answer: ReadTimeout" in valid
    assert result.output.count("SKIP") == 8


def test_an_unreachable_receiver_fails_at_once() -> None:
    receiver = Receiver(correct)
    url = receiver.url
    receiver.close()
    result = CliRunner().invoke(main, ["check-receiver", url, "--secret", SECRET, "--timeout", "1"])
    assert result.exit_code == 1 and "no answer: ConnectError" in result.output and result.output.count("SKIP") == 8


def test_a_url_that_is_not_http_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="not an http:// or https:// URL"):
        check_receiver("ftp://127.0.0.1/hook", SECRET)
    result = CliRunner().invoke(main, ["check-receiver", "127.0.0.1:8787/hook", "--secret", SECRET])
    assert result.exit_code == 2 and len(result.output.splitlines()) == 1
