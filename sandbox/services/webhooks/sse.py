"""One listener's event stream as server-sent events (``text/event-stream``), framework-free.

The messages, in order: ``retry`` and a ``ready`` message (the sandbox, the listener's id and its
signing secret, where the stream starts); then, as they come, ``webhook`` messages (``id`` is the
feed's ``{token}.{seq}``, ``data`` the exact bytes a delivery of the event carries), a ``gap`` before
them when events fell out of the backlog first, ``delivery`` messages (a delivery attempt's state,
without an id: they are live only) for streams that asked, and a ``: keep-alive`` comment whenever
the stream has been idle for the keep-alive interval. Last, an ``end`` message saying why (the
sandbox was deleted or expired, the server is shutting down, the stream reached its lifetime, or a
connection with the same listener id replaced it), and the response ends.

``EventStream`` is the response body: the web server iterates it on the request's thread, and
calls ``close`` when the response is over or the client has gone, which frees the stream's slots.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterator
from typing import Any

from .feed import EventFeed
from .listeners import Batch, Listener

RETRY_MS = 2000
KEEP_ALIVE = b": keep-alive\n\n"
END_MESSAGES = {
    "sandbox_deleted": "the sandbox was deleted: its keys no longer work",
    "sandbox_expired": "the sandbox expired (idle past its ttl): its keys no longer work",
    "server_shutdown": "the server is shutting down; reconnect with Last-Event-ID to resume",
    "lifetime": "this stream reached its lifetime; reconnect with Last-Event-ID to resume",
    "replaced": "another connection with the same listener_id replaced this one",
}


def message(event: str, data: bytes | str | dict[str, Any], event_id: str | None = None) -> bytes:
    """One SSE message; ``data`` must hold no newline (JSON from ``json.dumps`` never does)."""
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":"))
    payload = data if isinstance(data, bytes) else data.encode()
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + payload + b"\n\n"


class EventStream:
    """The messages of one stream, until it must end; ``close`` is idempotent."""

    def __init__(
        self, feed: EventFeed, listener: Listener, ready: dict[str, Any], *, keepalive: float, lifetime: float
    ) -> None:
        self.feed, self.listener, self.ready = feed, listener, ready
        self.keepalive, self.ends_at = keepalive, time.monotonic() + lifetime
        self._messages = self._generate()

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._messages)

    def close(self) -> None:
        self._messages.close()
        self.feed.release(self.listener)

    def _generate(self) -> Generator[bytes, None, None]:
        yield f"retry: {RETRY_MS}\n".encode() + message("ready", self.ready)
        while True:
            left = self.ends_at - time.monotonic()
            if left <= 0:
                yield self._end("lifetime")
                return
            batch = self.feed.next_batch(self.listener, min(self.keepalive, left))
            if batch is None:
                if self.ends_at - time.monotonic() > 0:
                    yield KEEP_ALIVE
                continue
            chunk = self._render(batch)
            if chunk:
                yield chunk
            if batch.ended is not None:
                yield self._end(batch.ended)
                return

    def _render(self, batch: Batch) -> bytes:
        parts: list[bytes] = []
        if batch.missed:
            first = batch.entries[0].seq if batch.entries else None
            parts.append(
                message(
                    "gap",
                    {
                        "missed": batch.missed,
                        "bound": self.feed.backlog_limit,
                        "resumes_at": None if first is None else self.feed.event_id(first),
                        "message": f"{batch.missed} events (of any type) fell out of this sandbox's backlog of "
                        f"{self.feed.backlog_limit} before this stream got them; GET /_sandbox/events lists them",
                    },
                )
            )
        parts.extend(message("webhook", entry.body(), self.feed.event_id(entry.seq)) for entry in batch.entries)
        parts.extend(message("delivery", attempt) for attempt in batch.attempts)
        return b"".join(parts)

    def _end(self, reason: str) -> bytes:
        return message("end", {"reason": reason, "message": END_MESSAGES.get(reason, reason)})
