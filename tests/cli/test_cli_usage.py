"""The command line as a person meets it: -h and --version everywhere, environment variables in
every client command's help, and one line for every usage mistake."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from typing import Any

import click
import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.services.webhooks import EVENT_TYPES


def invoke(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(main, list(args), **kwargs)


def every_command(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(every_command())
CLIENT_COMMANDS = [
    path for path, command in COMMANDS if any(isinstance(p, click.Option) and p.name == "url" for p in command.params)
]


def test_the_surface_is_the_one_documented() -> None:
    assert sorted(" ".join(path) for path, command in COMMANDS if not isinstance(command, click.Group)) == [
        "check-receiver",
        "clock advance",
        "clock show",
        "events list",
        "events replay",
        "journal clear",
        "journal coverage",
        "journal show",
        "keys",
        "listen",
        "reset",
        "sandboxes create",
        "sandboxes delete",
        "sandboxes show",
        "scenarios list",
        "scenarios start",
        "scenarios status",
        "scenarios stop",
        "scenarios validate",
        "serve",
        "trigger",
        "webhooks create",
        "webhooks delete",
        "webhooks deliveries",
        "webhooks list",
        "webhooks rotate",
    ]


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda path: " ".join(path) or "main")
def test_every_command_takes_dash_h_and_version(path: tuple[str, ...]) -> None:
    short, long = invoke(*path, "-h"), invoke(*path, "--help")
    assert short.exit_code == 0 and short.output == long.output and short.output.startswith("Usage: eal-sandbox")
    assert "-h, --help" in short.output
    version = invoke(*path, "--version")
    assert version.exit_code == 0 and version.output == f"eal-sandbox {metadata.version('eal-sandbox')}\n"


@pytest.mark.parametrize("path", CLIENT_COMMANDS, ids=" ".join)
def test_every_client_command_shows_its_environment_variables(path: tuple[str, ...]) -> None:
    shown = " ".join(invoke(*path, "-h").output.split())  # help text wraps
    assert "[env var: EAL_SANDBOX_URL; default: http://127.0.0.1:4010]" in shown
    assert "[env var: EAL_SANDBOX_KEY]" in shown and "--json" in shown


def test_check_receiver_shows_its_secret_variable() -> None:
    assert "[env var: EAL_WEBHOOK_SECRET; required]" in " ".join(invoke("check-receiver", "-h").output.split())


MISTAKES = {
    "unknown command": (["nope"], "No such command 'nope'", "eal-sandbox -h"),
    "unknown option": (
        ["trigger", "lead.created", "--cuont", "2"],
        "No such option '--cuont'. (Did you mean one of: '--count'",
        "eal-sandbox trigger -h",
    ),
    "missing argument": (["events", "replay"], "Missing argument 'ID'", "eal-sandbox events replay -h"),
    "unknown event": (
        ["trigger", "lead.exploded"],
        f"'lead.exploded' is not an event type; valid: {', '.join(EVENT_TYPES)}",
        "eal-sandbox trigger -h",
    ),
    "unknown event in a list": (
        ["webhooks", "create", "http://127.0.0.1:9/hook", "--events", "lead.created,lead.nope"],
        "'lead.nope' is not an event type; valid: call.received,",
        "eal-sandbox webhooks create -h",
    ),
    "missing events": (["webhooks", "create", "http://127.0.0.1:9/hook"], "Missing option '--events'", "create -h"),
    "bad duration": (
        ["clock", "advance", "5 minutes"],
        "'5 minutes' is not a duration: write a number and a unit (ms, s, m, h, d, w), up to four parts: 90s, 5m",
        "eal-sandbox clock advance -h",
    ),
    "count out of range": (["trigger", "lead.created", "--count", "0"], "0 is not in the range 1<=x<=50", "-h"),
    "url without http": (
        ["events", "list", "--url", "ftp://127.0.0.1:4010"],
        "'ftp://127.0.0.1:4010' is not an http:// or https:// URL of a sandbox",
        "eal-sandbox events list -h",
    ),
    "receiver url without http": (
        ["check-receiver", "file:///etc/passwd", "--secret", "whsec_x"],
        "'file:///etc/passwd' is not an http:// or https:// URL",
        "eal-sandbox check-receiver -h",
    ),
    "replay of something else": (
        ["events", "replay", "lead_123"],
        "'lead_123' is neither an event id (evt_…) nor a delivery id (whd_…)",
        "eal-sandbox events replay -h",
    ),
    "delivery replay to another webhook": (
        ["events", "replay", "whd_abc", "--webhook", "0b5f7c36-60d5-4bd4-9d6e-6f3f4d2f9d10"],
        "--webhook goes with an event id",
        "eal-sandbox events replay -h",
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
def test_every_usage_mistake_is_one_line(mistake: tuple[list[str], str, str]) -> None:
    args, message, hint = mistake
    result = invoke(*args, env={"EAL_SANDBOX_URL": "", "EAL_SANDBOX_KEY": ""})
    assert result.exit_code == 2, result.output
    assert len(result.output.splitlines()) == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output and hint in result.output
    assert "Usage:" not in result.output and "{call.received|" not in result.output


@pytest.fixture
def not_a_sandbox() -> Iterator[str]:
    """A loopback server that answers every request with an HTML page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b"<html><body>\n<h1>It works!</h1>\n</body></html>\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_that_is_not_a_sandbox_is_one_line_too(not_a_sandbox: str) -> None:
    result = invoke("events", "list", "--url", not_a_sandbox, "--key", "eal_test_x")
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert "-> 404, not the sandbox's JSON: is --url the sandbox's base URL" in result.output


@pytest.mark.parametrize("form", ["{base}/api/v1", "{base}/api/v1/", "{base}/", "{host}"])
def test_url_takes_the_serve_banners_base_url_too(live_sandbox: Any, form: str) -> None:
    base = live_sandbox.base_url
    url = form.format(base=base, host=base.removeprefix("http://"))
    result = invoke("trigger", "lead.created", "--url", url, "--key", live_sandbox.keys["write"])
    assert result.exit_code == 0, result.output
    assert "emitted lead.created" in result.output


def test_url_and_key_come_from_the_environment(live_sandbox: Any) -> None:
    env = {"EAL_SANDBOX_URL": live_sandbox.base_url + "/api/v1", "EAL_SANDBOX_KEY": live_sandbox.keys["read"]}
    listed = invoke("events", "list", env=env)
    assert listed.exit_code == 0 and "(using the admin key" not in listed.output
    refused = invoke("trigger", "lead.created", env=env)  # a read key may not trigger
    assert refused.exit_code == 1 and len(refused.output.splitlines()) == 1
    assert "POST /_sandbox/trigger -> 403 forbidden" in refused.output
