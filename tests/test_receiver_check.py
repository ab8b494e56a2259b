"""check-receiver against a correct receiver (all PASS) and a naive one (FAILs, exit 1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.cli.receiver_check import check_receiver
from sandbox.services.webhooks import verify_signature

SECRET = "whsec_" + "R" * 32


def serve(verify: bool) -> ThreadingHTTPServer:
    """A receiver on loopback; with ``verify`` it checks signature, freshness and event id."""
    seen: set[str] = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = 200
            if verify:
                if not verify_signature(body, dict(self.headers.items()), SECRET):
                    status = 401
                else:
                    with lock:
                        event_id = self.headers["X-EAL-Event-Id"]
                        status = 409 if event_id in seen else 200
                        seen.add(event_id)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture(params=[True, False], ids=["correct", "naive"])
def receiver(request: pytest.FixtureRequest) -> Iterator[tuple[bool, str]]:
    server = serve(verify=request.param)
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}/webhooks/eal"
    server.shutdown()
    server.server_close()


def test_a_correct_receiver_passes_every_check_and_a_naive_one_only_the_first(
    receiver: tuple[bool, str],
) -> None:
    correct, url = receiver
    results = check_receiver(url, SECRET)
    assert [r.name for r in results] == [
        "valid",
        "forged signature",
        "stale timestamp (10 min)",
        "replayed event id",
        "body altered after signing",
    ]
    if correct:
        assert all(r.passed for r in results), results
        assert [r.status for r in results] == [200, 401, 401, 409, 401]
    else:
        assert [r.passed for r in results] == [True, False, False, False, False]
        assert all(r.status == 200 for r in results)


def test_the_command_prints_a_table_and_exits_non_zero_on_any_fail(receiver: tuple[bool, str]) -> None:
    correct, url = receiver
    result = CliRunner().invoke(main, ["check-receiver", url, "--secret", SECRET])
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["check", "expected", "got", "result"]
    if correct:
        assert result.exit_code == 0 and "5/5 passed" in result.output and "FAIL" not in result.output
    else:
        assert result.exit_code == 1 and "1/5 passed, 4 FAILED" in result.output
        assert "accepted: the receiver would act on this delivery" in result.output


def test_an_unreachable_receiver_fails_every_check() -> None:
    server = serve(verify=True)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    result = CliRunner().invoke(main, ["check-receiver", url, "--secret", SECRET, "--timeout", "1"])
    assert result.exit_code == 1 and "no answer" in result.output
