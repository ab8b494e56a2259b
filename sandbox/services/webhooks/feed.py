"""What listeners of one sandbox receive (``eal-sandbox listen``, the ``/docs/webhooks`` inspector):
every event emitted or replayed in it, in order and numbered, and its delivery attempts as they go.

**Sequence and resuming.** Each event (or replay) the sandbox emits gets the next sequence number of
its feed; its SSE id is ``{feed token}.{seq}``. The token is random per sandbox instance, so an id
from another instance (a restarted server's start-up sandbox) is recognised as one: nothing of this
feed was seen, and everything it still holds is sent. A stream resumes after the id a client last
received (``Last-Event-ID``) with exactly the events numbered after it.

**Bounds.** The feed keeps the last ``backlog`` events (references to the stored records; their
bytes are made again when sent, by the same serializer as a delivery). A client that fell further
behind than that is told how many it missed (an SSE ``gap`` message) before the ones still held.
Delivery attempts are kept for the inspector, the last ``attempts`` of them; they are pushed live to
streams that ask for them and are never part of a resume. Streams are bounded per sandbox and, through
the shared ``StreamSlots``, per server.
"""

from __future__ import annotations

import hashlib
import hmac
import string
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ...base.errors import QuotaExceeded
from ...base.ids import random_token
from ...base.store import Record
from .delivery import Attempt, attempt_headers, event_body

_SECRET_ALPHABET = string.ascii_letters + string.digits
PENDING_ATTEMPTS_PER_STREAM = 256  # delivery messages waiting for one slow stream; older ones are dropped


def listener_secret(material: str) -> str:
    """A ``whsec_`` secret derived from ``material`` (the sandbox's network admin token): stable for the
    sandbox's whole life, resets included, and telling nothing about the token it came from."""
    digest = hmac.new(material.encode(), b"eal-sandbox listener signing secret", hashlib.sha256).digest()
    return "whsec_" + "".join(_SECRET_ALPHABET[byte % len(_SECRET_ALPHABET)] for byte in digest)


class StreamSlots:
    """The streams open on the whole server, at most ``limit``; each holds one server thread."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open = 0
        self._feeds: set[EventFeed] = set()
        self._closed = False

    def take(self, feed: EventFeed) -> None:
        with self._lock:
            if self._closed:
                raise QuotaExceeded("streams", self.limit, "the server is shutting down", retry_after=5)
            if self._open >= self.limit:
                raise QuotaExceeded("streams", self.limit, f"this server already has {self._open} event streams "
                                    "open (each holds a server thread); close one, or retry shortly", retry_after=5)
            self._open += 1
            self._feeds.add(feed)

    def give_back(self, feed: EventFeed, still_streaming: bool) -> None:
        with self._lock:
            self._open -= 1
            if not still_streaming:
                self._feeds.discard(feed)

    @property
    def open(self) -> int:
        with self._lock:
            return self._open

    def close(self) -> None:
        """End every open stream of the server (it is shutting down); no new ones open."""
        with self._lock:
            self._closed = True
            feeds = list(self._feeds)
        for feed in feeds:
            feed.end_streams("server_shutdown")


@dataclass(frozen=True, slots=True)
class Entry:
    """One event as listeners get it: its number in the feed and the stored record."""

    seq: int
    event: Record

    def body(self) -> bytes:
        return event_body(self.event)


@dataclass(eq=False)
class Listener:
    """One open stream: where it is in the feed and what it asked for."""

    id: str
    types: frozenset[str] | None
    deliveries: bool
    cursor: int
    connected_at: float = field(default_factory=time.time)
    ended: str | None = None  # why the stream must end, once it must
    pending: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=PENDING_ATTEMPTS_PER_STREAM))

    def wants(self, entry: Entry) -> bool:
        return self.types is None or entry.event["type"] in self.types


@dataclass(frozen=True)
class Batch:
    """What a stream has to send next."""

    entries: list[Entry]
    missed: int  # events that fell out of the backlog before this stream got them
    attempts: list[dict[str, Any]]
    ended: str | None


class BadPosition(ValueError):
    """A ``Last-Event-ID`` this feed cannot resume from; the message says why."""


class EventFeed:
    """One sandbox's numbered events and delivery attempts, and the streams reading them."""

    def __init__(self, slots: StreamSlots, *, secret: str, backlog: int, attempts: int, per_sandbox: int,
                 after_commit: Callable[[Callable[[], object]], None] | None = None) -> None:
        self.slots, self.secret = slots, secret
        self._after_commit = after_commit or (lambda callback: callback())  # so no rolled-back event streams
        self.backlog_limit, self.attempts_limit, self.per_sandbox = backlog, attempts, per_sandbox
        self.token = random_token("", 10)
        self._changed = threading.Condition()
        self._entries: deque[Entry] = deque(maxlen=max(1, backlog))
        self._seq = 0
        self._attempts: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._listeners: list[Listener] = []
        self._ended: str | None = None

    # What the webhook service tells the feed ------------------------------------------------------

    def observe(self, event: Record) -> None:
        """An event was emitted (an observer of the webhook service, on the emitting thread): it is numbered
        once the write that emitted it is stored, as deliveries are queued."""
        self._after_commit(lambda: self._append(event))

    def replayed(self, event: Record) -> None:
        """A stored event was delivered again to all its subscriptions: listeners get it again too."""
        self._append(event)

    def attempt_started(self, record: Record, attempt: Attempt, signing_secrets: list[str], url: str) -> None:
        """A delivery attempt is about to be sent, with these headers (what the inspector shows)."""
        view = {name: record.get(name) for name in ATTEMPT_FIELDS}
        view.update(url=url, attempted_at=record.get("delivered_at"), timestamp=attempt.timestamp,
                    request={"headers": attempt_headers(attempt, signing_secrets), "body": attempt.body.decode()})
        with self._changed:
            self._attempts[record["id"]] = view
            while len(self._attempts) > self.attempts_limit:
                self._attempts.popitem(last=False)
            self._push(view)

    def attempt_finished(self, record: Record) -> None:
        """A delivery attempt ended: its status, answer, error and next attempt."""
        with self._changed:
            view = self._attempts.get(record["id"])
            if view is None:
                return
            view.update({name: record.get(name) for name in OUTCOME_FIELDS})
            self._push(view)

    def _append(self, event: Record) -> None:
        with self._changed:
            self._seq += 1
            self._entries.append(Entry(self._seq, event))
            if self._listeners:
                self._changed.notify_all()

    def _push(self, view: dict[str, Any]) -> None:
        """Queue an attempt's current state for the streams that asked for attempts (lock held)."""
        woken = False
        for listener in self._listeners:
            if listener.deliveries:
                listener.pending.append(public_attempt(view))
                woken = True
        if woken:
            self._changed.notify_all()

    # Reading ------------------------------------------------------------------------------------------

    def event_id(self, seq: int) -> str:
        return f"{self.token}.{seq}"

    def resume_point(self, last_event_id: str | None, backlog: int = 0) -> int:
        """The sequence number a new stream starts after: the client's last id, else now (less
        ``backlog`` of the events held, for a first look at what happened)."""
        with self._changed:
            newest = self._seq
            oldest = self._entries[0].seq if self._entries else newest + 1
        if last_event_id is None:
            return max(newest - backlog, oldest - 1, 0)
        token, _, number = last_event_id.partition(".")
        if token != self.token or not (number.isascii() and number.isdigit()):
            return 0  # not a position of this feed (the server restarted since): all of it is new to the client
        seq = int(number)
        if seq > newest:
            raise BadPosition(f"'{last_event_id}' is ahead of this sandbox's newest event "
                              f"({self.event_id(newest) if newest else 'none yet'}); resend the last id you received")
        return seq

    def attempts(self, event_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The delivery attempts held, newest first (of one event only, if given)."""
        with self._changed:
            views = [public_attempt(view) for view in reversed(self._attempts.values())
                     if event_id is None or view["event_id"] == event_id]
        return views[:limit]

    def stats(self) -> dict[str, Any]:
        with self._changed:
            entries = list(self._entries)
            return {"streams": len(self._listeners), "events": len(entries), "bound": self.backlog_limit,
                    "oldest_id": self.event_id(entries[0].seq) if entries else None,
                    "newest_id": self.event_id(self._seq) if self._seq else None,
                    "attempts": len(self._attempts), "attempts_bound": self.attempts_limit}

    # Streams ------------------------------------------------------------------------------------------

    def open(self, listener_id: str | None, cursor: int, types: Iterable[str] | None, deliveries: bool) -> Listener:
        """Admit a stream starting after ``cursor``; one with the id of an open stream replaces it (a
        client reconnecting before its old connection was noticed gone). 429 past the bounds."""
        chosen = listener_id or random_token("lsn_", 12)
        with self._changed:
            if self._ended is not None:
                raise QuotaExceeded("streams_per_sandbox", self.per_sandbox, "this sandbox is gone")
            replaced = [listener for listener in self._listeners if listener.id == chosen and not listener.ended]
            if not replaced and len([listener for listener in self._listeners if not listener.ended]) >= \
                    self.per_sandbox:
                raise QuotaExceeded("streams_per_sandbox", self.per_sandbox,
                                    f"this sandbox already has {self.per_sandbox} event streams open; close one, "
                                    "or reconnect with the same listener_id to replace your own", retry_after=5)
            self.slots.take(self)
            for old in replaced:
                old.ended = "replaced"
            listener = Listener(chosen, frozenset(types) if types else None, deliveries, cursor)
            self._listeners.append(listener)
            self._changed.notify_all()
        return listener

    def release(self, listener: Listener) -> None:
        """The stream has ended (its connection closed): free its slots. Idempotent."""
        with self._changed:
            if listener not in self._listeners:
                return
            self._listeners.remove(listener)
            streaming = bool(self._listeners)
        self.slots.give_back(self, streaming)

    def next_batch(self, listener: Listener, timeout: float) -> Batch | None:
        """What the stream must send next, waiting up to ``timeout`` seconds; None if nothing came."""
        with self._changed:
            if not self._ready(listener):
                self._changed.wait(timeout)
                if not self._ready(listener):
                    return None
            oldest = self._entries[0].seq if self._entries else self._seq + 1
            missed = max(0, oldest - 1 - listener.cursor)
            entries = [entry for entry in self._entries if entry.seq > listener.cursor and listener.wants(entry)]
            listener.cursor = self._seq
            attempts = list(listener.pending)
            listener.pending.clear()
            return Batch(entries, missed, attempts, listener.ended)

    def _ready(self, listener: Listener) -> bool:
        return listener.ended is not None or self._seq > listener.cursor or bool(listener.pending)

    def end_streams(self, reason: str) -> None:
        """Tell every open stream to end now, saying ``reason``."""
        with self._changed:
            for listener in self._listeners:
                listener.ended = listener.ended or reason
            self._changed.notify_all()

    def close(self, reason: str) -> None:
        """The sandbox is gone: end its streams and admit no more."""
        with self._changed:
            self._ended = reason
        self.end_streams(reason)


def public_attempt(view: dict[str, Any]) -> dict[str, Any]:
    """An attempt as the inspector shows it: with the exact string that was signed."""
    request = view["request"]
    signed = f"{view['timestamp']}.{request['body']}"
    return {**{name: value for name, value in view.items() if name != "timestamp"},
            "request": {**request, "signed_content": signed}}


ATTEMPT_FIELDS = ("id", "organization_id", "webhook_id", "event", "event_id", "attempt", "status",
                  "response_status", "latency_ms", "error", "next_attempt_at")
OUTCOME_FIELDS = ("status", "response_status", "latency_ms", "error", "next_attempt_at")
