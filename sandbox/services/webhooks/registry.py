"""The event streams open for one sandbox, across every process serving it (``STREAMS_PER_SANDBOX``).

A hash in the sandbox's ``State``: listener id → the connection holding it (a random token per
stream) and the wall-clock instant its lease ends. The process serving a stream renews its lease
(every ``RENEW_SECONDS``) while the stream is open; a process that dies stops renewing, so its
streams stop counting once their leases run out (``LEASE_SECONDS``). A stream with the listener id of
an open one takes its place: the entry names the new connection, and the old stream's process, which
compares the entry with its own connection (``taken``), ends the old one as ``replaced``. Admission,
renewal and release each hold the registry's lock, so two processes never admit past the bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ...base.state import State

STREAMS = "feed:streams"
LEASE_SECONDS = 15.0  # how long a stream counts without its process renewing it
RENEW_SECONDS = LEASE_SECONDS / 3


class StreamRegistry:
    """Who holds the sandbox's stream places (``limit`` of them), whichever process serves them."""

    def __init__(
        self, state: State, limit: int, *, lease: float = LEASE_SECONDS, now: Callable[[], float] = time.time
    ) -> None:
        self.state, self.limit, self.lease, self._now = state, limit, lease, now

    def live(self, registered: Mapping[str, Any]) -> dict[str, Any]:
        """The entries whose lease has not run out."""
        now = self._now()
        return {listener_id: entry for listener_id, entry in registered.items() if float(entry["until"]) > now}

    def count(self) -> int:
        """Streams of the sandbox open now, on any process."""
        return len(self.live(self.state.hall(STREAMS)))

    def has_room(self, listener_id: str) -> bool:
        """Whether a stream of ``listener_id`` would be admitted now (it would replace its own, or a place is free)."""
        live = self.live(self.state.hall(STREAMS))
        return listener_id in live or len(live) < self.limit

    def admit(self, listener_id: str, connection: str) -> bool:
        """Hold a place for ``connection`` under ``listener_id`` (taking over an open stream of that id);
        False when every place is held by other listeners."""
        with self.state.lock(STREAMS):
            registered = self.state.hall(STREAMS)
            live = self.live(registered)
            if listener_id not in live and len(live) >= self.limit:
                return False
            lapsed = [held for held in registered if held not in live and held != listener_id]
            with self.state.batch() as batch:
                batch.add("hput", STREAMS, listener_id, self._entry(connection))
                if lapsed:
                    batch.add("hremove", STREAMS, *lapsed)
        return True

    def renew(self, held: Mapping[str, str]) -> set[str]:
        """Extend the leases of this process's open streams (listener id → connection); returns the ids
        another connection has taken since (those streams were replaced). An entry that lapsed (this
        process stalled past its lease) is put back: the stream is alive."""
        with self.state.lock(STREAMS):
            registered = self.state.hall(STREAMS)
            taken = self.taken(held, registered)
            with self.state.batch() as batch:
                for listener_id, connection in held.items():
                    if listener_id not in taken:
                        batch.add("hput", STREAMS, listener_id, self._entry(connection))
        return taken

    def release(self, listener_id: str, connection: str) -> None:
        """The stream of ``connection`` ended: its place is free (unless another connection took it)."""
        with self.state.lock(STREAMS):
            entry = self.state.hget(STREAMS, listener_id)
            if entry is not None and entry["connection"] == connection:
                self.state.hremove(STREAMS, listener_id)

    @staticmethod
    def taken(held: Mapping[str, str], registered: Mapping[str, Any]) -> set[str]:
        """Which of ``held`` (listener id → connection) another connection holds now."""
        return {
            listener_id
            for listener_id, connection in held.items()
            if listener_id in registered and registered[listener_id]["connection"] != connection
        }

    def _entry(self, connection: str) -> dict[str, Any]:
        return {"connection": connection, "until": self._now() + self.lease}
