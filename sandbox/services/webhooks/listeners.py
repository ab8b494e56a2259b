"""What the listeners' feed (``feed``) hands out: an open stream (``Listener``), the events and
attempts it is sent next (``Batch`` of ``Entry``), the secret listeners sign with, and why a
``Last-Event-ID`` cannot be resumed from."""

from __future__ import annotations

import hashlib
import hmac
import string
import time
from dataclasses import dataclass, field
from typing import Any

from ...base.store import Record
from .delivery import event_body

_SECRET_ALPHABET = string.ascii_letters + string.digits


def listener_secret(material: str) -> str:
    """A ``whsec_`` secret derived from ``material`` (the sandbox's network admin token): stable for the
    sandbox's whole life, resets included, and telling nothing about the token it came from."""
    digest = hmac.new(material.encode(), b"eal-sandbox listener signing secret", hashlib.sha256).digest()
    return "whsec_" + "".join(_SECRET_ALPHABET[byte % len(_SECRET_ALPHABET)] for byte in digest)


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
    connection: str = ""  # this stream's own token in the registry (a listener id may reconnect elsewhere)
    attempt_cursor: int = 0  # the last attempt state it was sent
    connected_at: float = field(default_factory=time.time)
    ended: str | None = None  # why the stream must end, once it must

    def wants(self, event: Record) -> bool:
        return self.types is None or event["type"] in self.types


@dataclass(frozen=True)
class Batch:
    """What a stream has to send next."""

    entries: list[Entry]
    missed: int  # events that fell out of the backlog before this stream got them
    attempts: list[dict[str, Any]]
    ended: str | None


class BadPosition(ValueError):
    """A ``Last-Event-ID`` this feed cannot resume from; the message says why."""
