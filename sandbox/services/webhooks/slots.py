"""The event streams open on this server process, whatever their sandboxes (``STREAMS_MAX``, ``serve
--max-streams``): each holds one of the process's threads, so this bound stays per process in a fleet
too (each process has its own threads), while the per-sandbox bound is the fleet's (``registry``)."""

from __future__ import annotations

import threading
from typing import Protocol

from ...base.errors import QuotaExceeded


class Streaming(Protocol):
    """A sandbox's feed, as the slots know it: what can end its streams."""

    def end_streams(self, reason: str) -> None: ...


class StreamSlots:
    """The streams open on this server process, at most ``limit``; each holds one of its threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open = 0
        self._feeds: set[Streaming] = set()
        self._closed = False

    def take(self, feed: Streaming) -> None:
        with self._lock:
            if self._closed:
                raise QuotaExceeded("streams", self.limit, "the server is shutting down", retry_after=5)
            if self._open >= self.limit:
                raise QuotaExceeded(
                    "streams",
                    self.limit,
                    f"this server already has {self._open} event streams "
                    "open (each holds a server thread); close one, or retry shortly",
                    retry_after=5,
                )
            self._open += 1
            self._feeds.add(feed)

    def give_back(self, feed: Streaming, still_streaming: bool) -> None:
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
