"""What listeners of one sandbox receive (``eal-sandbox listen``, the ``/docs/webhooks`` inspector):
every event emitted or replayed in it, in order and numbered, and its delivery attempts as they go.

**Shared, so a fleet serves one feed.** Everything a stream reads lives in the sandbox's ``State``
(this process's memory, or a fleet's Redis): the feed token, the numbered log of events (the
backlog), the numbered log of attempt states the inspector shows, and the registry of open streams
(``registry``). A stream is served by the process it is connected to, from that process's copy of
the logs (``mirror``): an entry appended here wakes its streams at once; what other processes
appended is read while streams are open, every ``POLL_SECONDS``, by whichever of them is due.

**Sequence and resuming.** Each event (or replay) the sandbox emits gets the next number of its log
once the write that emitted it is stored; its SSE id is ``{feed token}.{seq}``. The token is random
per sandbox (made by the first process that needs it), so an id of another sandbox instance (a
restarted memory server's start-up sandbox) is recognised as one: nothing of this feed was seen,
and everything it still holds is sent. A stream resumes after the id a client last received
(``Last-Event-ID``) with exactly the events numbered after it, on whichever process it reconnects to.

**Bounds.** The feed keeps the last ``backlog`` events (their bytes are made again when sent, by the
same serializer as a delivery). A client that fell further behind than that is told how many it
missed (an SSE ``gap`` message) before the ones still held. Delivery attempts are kept for the
inspector, the last ``attempts`` of them; they are pushed live to streams that ask for them and are
never part of a resume. Streams are bounded per sandbox (the registry, across the fleet) and,
through the shared ``StreamSlots``, per server process (its threads).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ...base.errors import QuotaExceeded
from ...base.ids import random_token
from ...base.state import State
from ...base.store import Record
from .attempts import attempt_view, finished_view, public_attempt
from .delivery import Attempt
from .listeners import BadPosition, Batch, Entry, Listener
from .mirror import LogMirror
from .registry import RENEW_SECONDS, STREAMS, StreamRegistry
from .slots import StreamSlots as StreamSlots  # the directory makes one per process

logger = logging.getLogger("sandbox.webhooks")
PENDING_ATTEMPTS_PER_STREAM = 256  # delivery messages waiting for one slow stream; older ones are dropped
TOKEN, EVENTS, ATTEMPTS = "feed:token", "feed:events", "feed:attempts"  # the feed's names in the State
POLL_SECONDS = 0.05  # how often open streams look for what other processes appended
CHECK_SECONDS = 1.0  # how often they look whether they were replaced elsewhere, or the sandbox deleted
OUTAGE_WARNING = 30.0  # seconds between two warnings of one outage
STARTED_HELD = 1024  # attempts started here whose outcome is awaited (a bound against leaks)


@dataclass
class _Write:
    """The events one write emitted (``observed``) and those of them stored so far (``stored``)."""

    observed: list[Record] = field(default_factory=list)
    stored: list[Record] = field(default_factory=list)
    committed: bool = False  # its callbacks have begun: events emitted from now on belong to another write


class EventFeed:
    """One sandbox's numbered events and delivery attempts, and this process's streams reading them."""

    def __init__(
        self,
        slots: StreamSlots,
        state: State,
        *,
        secret: str,
        backlog: int,
        attempts: int,
        per_sandbox: int,
        after_commit: Callable[[Callable[[], object]], None] | None = None,
        log_on_commit: Callable[[str, Any, int], Callable[[], int] | None] | None = None,
    ) -> None:
        self.slots, self.state, self.secret = slots, state, secret
        self._after_commit = after_commit or (lambda callback: callback())  # so no rolled-back event streams
        self._log_on_commit = log_on_commit or (lambda name, value, keep: None)
        self.backlog_limit, self.attempts_limit, self.per_sandbox = backlog, attempts, per_sandbox
        self.registry = StreamRegistry(state, per_sandbox)
        self._changed = threading.Condition()
        self._events = LogMirror(backlog)
        self._attempts = LogMirror(2 * attempts + 64)  # an attempt is two states (sent, then its outcome)
        self._emitting = threading.local()  # this thread's events awaiting their write's commit (``observe``)
        self._started: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()
        self._listeners: list[Listener] = []
        self._ended: str | None = None
        self._token: str | None = None
        self._polling = False
        self._poll_at = self._check_at = self._renew_at = 0.0
        self._failed_at = -OUTAGE_WARNING

    @property
    def token(self) -> str:
        """The feed's token (in every event id): the first process to need it makes it."""
        if self._token is None:
            self.state.put_new(TOKEN, random_token("", 10))
            self._token = str(self.state.get(TOKEN))
        return self._token

    # What the webhook service tells the feed ------------------------------------------------------

    def observe(self, event: Record) -> None:
        """An event was emitted (an observer of the webhook service, on the emitting thread): it is numbered
        once the write that emitted it is stored, as deliveries are queued — the events of one write
        together, in one step (one round trip in a fleet), when the last of them is stored. Where the
        store can, the entry is instead appended in the write's own commit (``Store.log_on_commit``):
        no round trip of its own, and no process can die between storing an event and numbering it."""
        number = self._log_on_commit(EVENTS, event, self._events.keep)
        if number is not None:
            self._after_commit(lambda: self._logged(number(), [event], self._events))
            return
        found: _Write | None = getattr(self._emitting, "write", None)
        write = self._emitting.write = found if found is not None and not found.committed else _Write()
        write.observed.append(event)
        last = len(write.observed)

        def numbered() -> None:  # the callbacks of a write run in order once it is stored; a failed write's never
            write.committed = True
            write.stored.append(event)
            if len(write.observed) == last:  # its last event (earlier ones of a failed write stay out)
                if getattr(self._emitting, "write", None) is write:
                    del self._emitting.write
                self._log(EVENTS, write.stored, self._events)

        self._after_commit(numbered)

    def replayed(self, event: Record) -> None:
        """A stored event was delivered again to all its subscriptions: listeners get it again too."""
        self._log(EVENTS, [event], self._events)

    def attempt_started(self, record: Record, attempt: Attempt, signing_secrets: list[str], url: str) -> None:
        """A delivery attempt is about to be sent, with these headers (what the inspector shows)."""
        view = attempt_view(record, attempt, signing_secrets, url)
        number = self._log(ATTEMPTS, [view], self._attempts)
        if number is not None:
            with self._changed:
                self._started[record["id"]] = (number, view)
                while len(self._started) > STARTED_HELD:
                    self._started.popitem(last=False)

    def attempt_finished(self, record: Record) -> None:
        """A delivery attempt ended: its status, answer, error and next attempt."""
        with self._changed:
            started = self._started.pop(record["id"], None)
        if started is not None:
            self._log(ATTEMPTS, [finished_view(started[1], record, started[0])], self._attempts)

    def _log(self, name: str, values: list[Any], mirror: LogMirror) -> int | None:
        """Append to one of the feed's logs (one round trip in a fleet) and wake this process's streams;
        returns the number of the last value."""
        try:
            last = self.state.log_append(name, values, mirror.keep)
        except Exception as error:  # the store away: what emitted it is stored and stays so; listeners miss it
            self._warn(f"the listeners' feed could not record an entry of {name} ({error})")
            return None
        self._logged(last, values, mirror)
        return last

    def _logged(self, last: int, values: list[Any], mirror: LogMirror) -> None:
        """Values were appended to a log, the last numbered ``last``: this process's copy and streams."""
        with self._changed:
            for number, value in enumerate(values, last - len(values) + 1):
                if not mirror.add(number, value):
                    self._poll_at = 0.0  # other processes' entries come first: read them at the next chance
            if self._listeners:
                self._changed.notify_all()

    # Reading ------------------------------------------------------------------------------------------

    def event_id(self, seq: int) -> str:
        return f"{self.token}.{seq}"

    def _refresh(self, names: tuple[str, ...] = (EVENTS,)) -> None:
        """Bring this process's copies of the logs up to the shared ones (one round trip in a fleet)."""
        mirrors = {EVENTS: self._events, ATTEMPTS: self._attempts}
        with self._changed:
            positions = {name: mirrors[name].newest for name in names}
        tails = self.state.log_after(positions)
        with self._changed:
            for name, (newest, held) in tails.items():
                mirrors[name].merge(newest, held)
            self._changed.notify_all()

    def resume_point(self, last_event_id: str | None, backlog: int = 0) -> int:
        """The sequence number a new stream starts after: the client's last id, else now (less
        ``backlog`` of the events held, for a first look at what happened)."""
        self._refresh()
        with self._changed:
            newest, oldest = self._events.newest, self._events.oldest
        if last_event_id is None:
            return max(newest - backlog, oldest - 1, 0)
        token, _, number = last_event_id.partition(".")
        if token != self.token or not (number.isascii() and number.isdigit()):
            return 0  # not a position of this feed (the server restarted since): all of it is new to the client
        seq = int(number)
        if seq > newest:
            raise BadPosition(
                f"'{last_event_id}' is ahead of this sandbox's newest event "
                f"({self.event_id(newest) if newest else 'none yet'}); resend the last id you received"
            )
        return seq

    def attempts(self, event_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The delivery attempts held (the latest ``attempts``), newest first (of one event only, if given)."""
        self._refresh((ATTEMPTS,))
        with self._changed:
            held = list(self._attempts.entries)
        latest: dict[str, tuple[int, dict[str, Any]]] = {}
        for number, view in held:  # each attempt's latest state, in the order attempts were sent
            latest[view["id"]] = (int(view.get("started", number)), view)
        newest_first = sorted(latest.values(), key=lambda item: -item[0])[: self.attempts_limit]
        return [public_attempt(view) for _, view in newest_first if event_id is None or view["event_id"] == event_id][
            :limit
        ]

    def stats(self) -> dict[str, Any]:
        self._refresh()
        streams = self.registry.count()
        with self._changed:
            entries, newest = list(self._events.entries), self._events.newest
        return {
            "streams": streams,
            "events": len(entries),
            "bound": self.backlog_limit,
            "oldest_id": self.event_id(entries[0][0]) if entries else None,
            "newest_id": self.event_id(newest) if newest else None,
        }

    # Streams ------------------------------------------------------------------------------------------

    def open(self, listener_id: str | None, cursor: int, types: Iterable[str] | None, deliveries: bool) -> Listener:
        """Admit a stream starting after ``cursor``; one with the id of an open stream (on any process)
        replaces it (a client reconnecting before its old connection was noticed gone). 429 past the bounds."""
        chosen, connection = listener_id or random_token("lsn_", 12), random_token("", 16)
        with self._changed:
            if self._ended is not None:
                raise QuotaExceeded("streams_per_sandbox", self.per_sandbox, "this sandbox is gone")
        _ = self.token  # made now, so its absence later means the sandbox's state was dropped
        if deliveries:
            self._refresh((ATTEMPTS,))  # attempts are live only: the stream starts at the newest
        if not self.registry.has_room(chosen):
            raise self._full()
        self.slots.take(self)
        try:
            if not self.registry.admit(chosen, connection):  # another process took the last place meanwhile
                raise self._full()
        except BaseException:
            with self._changed:
                streaming = bool(self._listeners)
            self.slots.give_back(self, streaming)
            raise
        with self._changed:
            for old in self._listeners:
                if old.id == chosen and old.ended is None:
                    old.ended = "replaced"
            listener = Listener(
                chosen,
                frozenset(types) if types else None,
                deliveries,
                cursor,
                connection=connection,
                attempt_cursor=self._attempts.newest,
            )
            self._listeners.append(listener)
            self._changed.notify_all()
        return listener

    def _full(self) -> QuotaExceeded:
        return QuotaExceeded(
            "streams_per_sandbox",
            self.per_sandbox,
            f"this sandbox already has {self.per_sandbox} event streams open; close one, "
            "or reconnect with the same listener_id to replace your own",
            retry_after=5,
        )

    def release(self, listener: Listener) -> None:
        """The stream has ended (its connection closed): free its slots. Idempotent."""
        with self._changed:
            if listener not in self._listeners:
                return
            self._listeners.remove(listener)
            streaming = bool(self._listeners)
        self.slots.give_back(self, streaming)
        try:
            self.registry.release(listener.id, listener.connection)
        except Exception:  # its lease runs out by itself
            logger.warning("could not free the stream place of listener %s", listener.id, exc_info=True)

    def next_batch(self, listener: Listener, timeout: float) -> Batch | None:
        """What the stream must send next, waiting up to ``timeout`` seconds; None if nothing came. While
        it waits, it reads what other processes appended when a read is due and no other stream of this
        feed is reading."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                if self._ready(listener):
                    return self._take(listener)
                now = time.monotonic()
                if now >= deadline:
                    return None
                if self._polling or now < self._poll_at:
                    wake = deadline if self._polling else min(deadline, self._poll_at)
                    self._changed.wait(wake - now)
                    continue
                self._polling = True
            pause = POLL_SECONDS
            try:
                self._poll_round()
            except Exception as error:  # the store away a moment: the stream keeps what it has, tries again
                pause = CHECK_SECONDS
                self._warn(f"reading the listeners' feed failed ({error}); retrying every {pause} s")
            finally:
                with self._changed:
                    self._polling = False
                    self._poll_at = time.monotonic() + pause
                    self._changed.notify_all()

    def _warn(self, message: str) -> None:
        """Say what failed, once in ``OUTAGE_WARNING`` seconds (an outage fails every step)."""
        if time.monotonic() - self._failed_at > OUTAGE_WARNING:
            self._failed_at = time.monotonic()
            logger.warning(message)

    def _ready(self, listener: Listener) -> bool:
        return (
            listener.ended is not None
            or self._events.newest > listener.cursor
            or (listener.deliveries and self._attempts.newest > listener.attempt_cursor)
        )

    def _take(self, listener: Listener) -> Batch:
        missed = max(0, self._events.oldest - 1 - listener.cursor)
        entries = [Entry(seq, event) for seq, event in self._events.after(listener.cursor) if listener.wants(event)]
        listener.cursor = self._events.newest
        attempts: list[dict[str, Any]] = []
        if listener.deliveries:
            held = self._attempts.after(listener.attempt_cursor)[-PENDING_ATTEMPTS_PER_STREAM:]
            attempts = [public_attempt(view) for _, view in held]
            listener.attempt_cursor = self._attempts.newest
        return Batch(entries, missed, attempts, listener.ended)

    def _poll_round(self) -> None:
        """Read what other processes appended; now and then, whether this process's streams were replaced
        elsewhere or the sandbox is gone, and renew their leases."""
        with self._changed:
            wanted = (EVENTS, ATTEMPTS) if any(listener.deliveries for listener in self._listeners) else (EVENTS,)
            held = {listener.id: listener.connection for listener in self._listeners if listener.ended is None}
            closed = self._ended is not None
        self._refresh(wanted)
        now = time.monotonic()
        if closed or not held or now < self._check_at:
            return
        self._check_at = now + CHECK_SECONDS
        with self.state.prefetched([("get", TOKEN), ("hall", STREAMS)]) as got:  # one round trip
            token, registered = got[("get", TOKEN)], got[("hall", STREAMS)]
        if token is None:  # the sandbox's state is gone: another process deleted it (or swept it, expired)
            self.close("sandbox_deleted")
            return
        taken = StreamRegistry.taken(held, registered)
        if now >= self._renew_at:
            self._renew_at = now + RENEW_SECONDS
            taken |= self.registry.renew({key: value for key, value in held.items() if key not in taken})
        if taken:
            with self._changed:
                for listener in self._listeners:
                    if listener.id in taken and listener.connection == held.get(listener.id):
                        listener.ended = listener.ended or "replaced"
                self._changed.notify_all()

    def end_streams(self, reason: str) -> None:
        """Tell every open stream of this process to end now, saying ``reason``."""
        with self._changed:
            for listener in self._listeners:
                listener.ended = listener.ended or reason
            self._changed.notify_all()

    def close(self, reason: str) -> None:
        """The sandbox is gone (or this process lets go of it): end its streams here and admit no more."""
        with self._changed:
            self._ended = self._ended or reason
        self.end_streams(reason)
