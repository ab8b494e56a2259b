"""The feed's own rules, below HTTP: the events of one write numbered together once it is stored (never
a failed write's), and a process's copy of a log that never has a hole."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.base.memory_state import MemoryState
from sandbox.base.overlay import OverlayStore, SeededBase
from sandbox.base.store import MemoryStore
from sandbox.services.webhooks.feed import EVENTS, EventFeed, StreamSlots
from sandbox.services.webhooks.mirror import LogMirror


def event(number: int) -> dict[str, Any]:
    return {"id": f"evt_{number}", "type": "lead.created"}


def test_the_events_of_one_write_are_numbered_together_once_it_is_stored() -> None:
    state, store = MemoryState(), OverlayStore(SeededBase(MemoryStore()))
    appended: list[list[str]] = []
    append = state.log_append

    def counted(name: str, values: list[Any], keep: int) -> int:
        appended.append([value["id"] for value in values])
        return append(name, values, keep)

    state.log_append = counted  # type: ignore[method-assign]
    feed = EventFeed(
        StreamSlots(8), state, secret="whsec_x", backlog=10, attempts=10, per_sandbox=3, after_commit=store.after_commit
    )
    with pytest.raises(RuntimeError), store.transaction():
        feed.observe(event(0))
        raise RuntimeError("the write failed")
    with store.transaction():
        feed.observe(event(1))
        with store.transaction():  # a nested block belongs to the outermost write
            feed.observe(event(2))
        assert appended == []  # nothing numbered before the write is stored
    feed.observe(event(3))  # outside a transaction: stored already
    assert appended == [["evt_1", "evt_2"], ["evt_3"]]  # one append (a round trip in a fleet) per write
    newest, held = state.log_after({EVENTS: 0})[EVENTS]
    assert newest == 3 and [(number, value["id"]) for number, value in held] == [
        (1, "evt_1"),
        (2, "evt_2"),
        (3, "evt_3"),
    ]
    appended.clear()
    with store.transaction():
        feed.observe(event(4))
        store.after_commit(lambda: feed.observe(event(6)))  # emitted while the write's callbacks run
        feed.observe(event(5))
    assert appended == [["evt_6"], ["evt_4", "evt_5"]]  # a write of its own; nothing of the first one lost


def test_a_copy_of_a_log_never_has_a_hole() -> None:
    mirror = LogMirror(keep=3)
    assert mirror.add(1, "a") and mirror.newest == 1
    assert not mirror.add(3, "c")  # 2 came from elsewhere: not held yet, so 3 waits for the read
    assert mirror.newest == 1 and mirror.after(0) == [(1, "a")]
    mirror.merge(3, [(2, "b"), (3, "c")])
    assert mirror.after(0) == [(1, "a"), (2, "b"), (3, "c")] and mirror.after(2) == [(3, "c")]
    assert mirror.add(3, "c")  # already brought by the read
    mirror.merge(9, [(7, "g"), (8, "h"), (9, "i")])  # fell behind the log's bound: start again from what it holds
    assert mirror.oldest == 7 and mirror.after(0) == [(7, "g"), (8, "h"), (9, "i")]
    assert mirror.add(10, "j") and mirror.after(8) == [(9, "i"), (10, "j")] and mirror.oldest == 8
