"""``eal-sandbox listen --forward-to URL``: the key's sandbox's events, forwarded to a local receiver.

Like ``stripe listen``: the CLI opens the sandbox's event stream (``GET /_sandbox/events/stream``,
server-sent events) and POSTs each event to ``--forward-to`` exactly as a delivery — the same body
bytes and the same headers (``X-EAL-Timestamp``, ``X-EAL-Signature``, ``X-EAL-Event-Id``, …) — signed
with the sandbox's listener secret. The sandbox never connects to the receiver, so it works against
a remote sandbox that cannot reach it.

Nothing is lost when the connection drops, or when the CLI itself is stopped and started again:
after each forwarded event the CLI writes the event's id to a small state file (one per sandbox and
receiver URL, under ``$XDG_STATE_HOME/eal-sandbox/listen``), and every connection resumes after it
(``Last-Event-ID``). The receiver's answer is shown, never retried (``eal-sandbox events replay ID``
sends an event again, to listeners too).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import httpx
from httpx_sse import ServerSentEvent, connect_sse

from ..base.ids import random_token
from ..services.webhooks.delivery import Attempt, attempt_headers
from .common import Control, EventTypes, connection_options, json_option

FORWARD_TIMEOUT = 5.0  # seconds for the receiver's whole answer, as for the sandbox's own deliveries
MAX_BACKOFF = 10.0  # seconds between reconnection attempts, at most
STATE_ENV = "XDG_STATE_HOME"
FINAL_ENDS = {"sandbox_deleted", "sandbox_expired", "replaced"}


class StreamRefused(Exception):
    """The sandbox refused the stream for now (429); ``wait`` seconds before asking again."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


def state_dir() -> Path:
    return Path(os.environ.get(STATE_ENV) or Path.home() / ".local" / "state") / "eal-sandbox" / "listen"


@dataclass
class Position:
    """Where this listener is: its listener id and the last event it forwarded, kept on disk."""

    path: Path
    listener_id: str = ""
    last_event_id: str | None = None

    @classmethod
    def load(cls, sandbox_id: str, forward_to: str) -> Position:
        digest = hashlib.sha256(forward_to.encode()).hexdigest()[:12]
        path = state_dir() / f"{sandbox_id}-{digest}.json"
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, str(saved["listener_id"]), saved.get("last_event_id"))
        except (OSError, ValueError, KeyError, TypeError):
            return cls(path, random_token("lsn_", 12))

    def advance(self, event_id: str | None) -> None:
        if event_id:
            self.last_event_id = event_id
        self.save()

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(
                json.dumps({"listener_id": self.listener_id, "last_event_id": self.last_event_id}), encoding="utf-8"
            )
            os.replace(temporary, self.path)
        except OSError as error:  # resuming after a restart is lost, forwarding is not
            click.echo(f"(cannot save the listener's position in {self.path}: {error})", err=True)


@dataclass
class Summary:
    started: float = field(default_factory=time.monotonic)
    forwarded: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    last_event_id: str | None = None

    def lines(self) -> list[str]:
        elapsed = int(time.monotonic() - self.started)
        answers = ", ".join(f"{count} {answer}" for answer, count in sorted(self.answers.items())) or "none"
        last = f"; last event id {self.last_event_id}" if self.last_event_id else ""
        return [f"Forwarded {self.forwarded} events in {elapsed // 60}m{elapsed % 60:02d}s ({answers}){last}"]


class Forwarder:
    """POSTs each event to the receiver as a delivery, signed with the listener secret."""

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret
        self.http = httpx.Client(timeout=FORWARD_TIMEOUT, follow_redirects=False, trust_env=False)

    def forward(self, body: bytes) -> tuple[dict[str, Any], str, int]:
        """Deliver one event; its parsed body, the receiver's answer ('200' or 'error: …') and latency."""
        event = json.loads(body)
        attempt = Attempt(random_token("whd_", 12), str(event["id"]), str(event["type"]), body, 1, int(time.time()))
        started = time.perf_counter()
        try:
            response = self.http.post(self.url, content=body, headers=attempt_headers(attempt, [self.secret]))
            answer = str(response.status_code)
        except httpx.HTTPError as error:
            answer = f"error: {type(error).__name__}: {error}"
        return event, answer, round((time.perf_counter() - started) * 1000)


class Listening:
    """One ``listen`` run: connect, forward, resume after drops, until Ctrl-C or the sandbox is gone."""

    def __init__(
        self, control: Control, forward_to: str, types: list[str] | None, info: dict[str, Any], as_json: bool = False
    ) -> None:
        self.control, self.types, self.info, self.as_json = control, types, info, as_json
        self.position = Position.load(info["sandbox_id"], forward_to)
        self.forwarder = Forwarder(forward_to, info["signing_secret"])
        self.summary = Summary()
        self.ready = False
        self.forward_to = forward_to
        keepalive = float(info["limits"]["keepalive_seconds"])
        self.timeout = httpx.Timeout(10.0, read=max(3 * keepalive, 10.0))  # 3 missed keep-alives: gone

    def run(self) -> None:
        failures = 0
        while True:
            try:
                self._stream()
                failures = 0  # the stream ended as the server asked: resume at once
            except StreamRefused as refused:
                click.echo(f"(stream refused: {refused}; retrying in {refused.wait:g} s)", err=True)
                time.sleep(refused.wait)
            except httpx.HTTPError as error:
                failures += 1
                wait = min(MAX_BACKOFF, 0.5 * 2 ** (failures - 1))
                click.echo(f"(connection lost: {type(error).__name__}: {error}; reconnecting in {wait:g} s)", err=True)
                time.sleep(wait)

    def _stream(self) -> None:
        headers = {"Authorization": f"Bearer {self.control.key}"}
        if self.position.last_event_id:
            headers["Last-Event-ID"] = self.position.last_event_id
        params: dict[str, str] = {"listener_id": self.position.listener_id}
        if self.types:
            params["types"] = ",".join(self.types)
        with connect_sse(
            self.control.http, "GET", "/_sandbox/events/stream", params=params, headers=headers, timeout=self.timeout
        ) as source:
            self._check(source.response)
            for message in source.iter_sse():
                if self._handle(message):
                    return

    def _check(self, response: httpx.Response) -> None:
        if response.status_code == 200:
            return
        response.read()
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        text = f"{response.status_code} {error.get('code', '')}: {error.get('message', response.text[:200])}"
        if response.status_code == 429:
            raise StreamRefused(text, float(response.headers.get("Retry-After", "5")))
        raise click.ClickException(f"GET /_sandbox/events/stream -> {text}")

    def _handle(self, message: ServerSentEvent) -> bool:
        """Act on one message; True when the stream has ended and should be opened again."""
        if message.event == "ready":
            self._on_ready(json.loads(message.data))
        elif message.event == "webhook":
            self._forward(message)
        elif message.event == "gap":
            gap = json.loads(message.data)
            click.echo(f"(warning: {gap['message']})", err=True)
        elif message.event == "end":
            end = json.loads(message.data)
            if end["reason"] in FINAL_ENDS:
                raise click.ClickException(f"the stream ended: {end['message']}")
            click.echo(f"({end['message']})", err=True)
            return True
        return False

    def _on_ready(self, ready: dict[str, Any]) -> None:
        self.position.listener_id = ready["listener_id"]
        if not self.ready:
            self.ready = True
            what = "every event" if not self.types else ", ".join(self.types) + " events"
            if self.as_json:
                click.echo(
                    json.dumps(
                        {
                            "ready": True,
                            "sandbox_id": ready["sandbox_id"],
                            "forward_to": self.forward_to,
                            "types": self.types,
                            "signing_secret": ready["signing_secret"],
                        }
                    )
                )
            else:
                click.echo(
                    f"Ready! Forwarding {what} of sandbox {ready['sandbox_id']} to {self.forward_to} "
                    f"with signing secret {ready['signing_secret']}"
                )
            if self.position.last_event_id:
                click.echo(
                    f"(resuming after {self.position.last_event_id}: events emitted since are sent first)", err=True
                )
            click.echo("(^C to stop)", err=True)
        else:
            click.echo(f"(reconnected; resuming after {self.position.last_event_id or 'the start'})", err=True)

    def _forward(self, message: ServerSentEvent) -> None:
        event, answer, latency = self.forwarder.forward(message.data.encode())
        self.position.advance(message.id)
        self.summary.forwarded += 1
        self.summary.last_event_id = message.id or self.summary.last_event_id
        self.summary.answers[_kind(answer)] += 1
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        if self.as_json:
            click.echo(
                json.dumps(
                    {
                        "at": stamp,
                        "type": event["type"],
                        "event_id": event["id"],
                        "stream_id": message.id,
                        "answer": answer,
                        "latency_ms": latency,
                    }
                )
            )
            return
        click.echo(f"{stamp}  {event['type']:<24} {event['id']}  [{answer}]  {latency} ms")


def _kind(answer: str) -> str:
    if answer.startswith("error"):
        return "without an answer"
    return f"answered {answer[0]}xx" if answer[:1] in "2345" else f"answered {answer}"


def _forward_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(
            f"'{value}' is not an http:// or https:// URL (like http://127.0.0.1:3000/webhooks)", ctx=ctx, param=param
        )
    return value


@click.command()
@click.option(
    "--forward-to",
    metavar="URL",
    callback=_forward_url,
    help="where to POST each event, as a signed delivery (your local receiver)",
)
@click.option(
    "--events",
    "types",
    type=EventTypes(),
    default=None,
    help="only these event types, comma-separated (default: every type)",
)
@connection_options
@click.option("--print-secret", is_flag=True, help="print the listener's signing secret and exit")
@json_option
def listen(
    forward_to: str | None, types: list[str] | None, url: str, key: str | None, print_secret: bool, as_json: bool
) -> None:
    """Forward the sandbox's events to a local receiver, like stripe listen.

    Prints 'Ready! … signing secret whsec_…' (the same secret for the sandbox's whole life: configure
    your receiver with it once), then one line per delivery: time, event type, event id, the
    receiver's status and the latency (--json: one JSON object a line). Resumes after a dropped
    connection, or a restart, without losing an event. Ctrl-C prints a summary."""
    if forward_to is None and not print_secret:
        raise click.UsageError("Missing option '--forward-to' (or give --print-secret)")
    control = Control(url, key)
    try:
        info = control.get("/_sandbox/listener")
        if print_secret or forward_to is None:
            click.echo(info["signing_secret"])
            return
        listening = Listening(control, forward_to, types, info, as_json)
        try:
            listening.run()
        except KeyboardInterrupt:
            summary = listening.summary
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "forwarded": summary.forwarded,
                            "answers": dict(summary.answers),
                            "last_event_id": summary.last_event_id,
                        }
                    )
                )
            for line in [] if as_json else summary.lines():
                click.echo(line)
        finally:
            listening.forwarder.http.close()
    finally:
        control.http.close()
