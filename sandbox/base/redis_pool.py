"""A redis-py connection pool in which each thread keeps the connection it last used.

redis-py's ``ConnectionPool`` hands out a connection per command (or pipeline) and takes it back
after: under its lock, with a non-blocking read of the socket to check that nothing is left unread,
and its metrics bookkeeping. A fleet worker's request makes a few round trips, each from the app
thread serving it, so that hand-over is a large part of its Redis cost, and under load the app
threads queue for the pool's lock (about 15 % of a loaded worker's samples). Here a thread takes a
connection from the pool once and keeps it while it lives: the next command on that thread gets it
back with no lock, after the same check the base pool makes (nothing left unread, not closed by the
server; about 1 µs). When the thread ends, its connection goes back to the pool.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import redis


class _Slot:
    """What one thread keeps, in a box the finalizer shares (so that it does not keep the slot alive):
    the connection, and whether it is lent out for a command now."""

    def __init__(self, pool: ThreadConnectionPool) -> None:
        self.box: list[Any] = [None, False]  # [connection, lent]
        weakref.finalize(self, _thread_ended, weakref.ref(pool), self.box)


def _thread_ended(pool_ref: weakref.ref[ThreadConnectionPool], box: list[Any]) -> None:
    """The keeping thread ended: its connection is the pool's again — unless it is lent out (a
    pipeline handed to another thread), in which case its release gives it back (``kept_by`` is dead)."""
    pool, (connection, lent) = pool_ref(), box
    box[0] = None
    if pool is not None and connection is not None and not lent:
        pool.give_back(connection)


class ThreadConnectionPool(redis.ConnectionPool):
    """``redis.ConnectionPool`` whose connections stay with the thread that used them last.

    ``max_connections`` bounds the threads that use Redis at once (each keeps one), not the commands
    in flight; a fleet process has some 25 such threads with the defaults."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        slot = self._slot()
        if slot is None or slot.box[1]:  # forked, or this thread's own is lent out (a nested use)
            return super().get_connection()
        connection = slot.box[0]
        if connection is None:
            made: Any = super().get_connection()
            made.kept_by = weakref.ref(slot)  # for ``release``, on whichever thread it comes
            connection = slot.box[0] = made
        else:  # as the base pool checks: left with data, or closed by the server, it is made again
            try:
                stale = connection.can_read()
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                stale = True
            if stale:
                connection.disconnect()  # the next command connects
        slot.box[1] = True
        return connection

    def release(self, connection: Any) -> None:
        # The slot that keeps it, not the releasing thread's: a connection taken on one thread and
        # released on another (a pipeline handed over) stays its keeper's, never the pool's twice.
        owner = getattr(connection, "kept_by", None)
        slot = owner() if owner is not None else None
        if slot is not None and slot.box[0] is connection:
            slot.box[1] = False
            if connection.should_reconnect():
                connection.disconnect()
            return
        connection.kept_by = None
        super().release(connection)

    def reset(self) -> None:  # at start and after a fork: nothing kept before it is this process's
        super().reset()
        self._kept = threading.local()
        self._kept_pid = os.getpid()

    def _slot(self) -> _Slot | None:
        if self._kept_pid != os.getpid():
            return None  # forked: the base pool resets itself on its next hand-out
        slot: _Slot | None = getattr(self._kept, "slot", None)
        if slot is None:
            slot = self._kept.slot = _Slot(self)
        return slot

    def give_back(self, connection: Any) -> None:
        """A kept connection whose thread has ended goes back to the pool."""
        if self._kept_pid == os.getpid():
            connection.kept_by = None
            super().release(connection)
