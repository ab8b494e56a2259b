"""Keyset paging for ``RedisOverlayStore``: the seeded base's order merged with one (kind, organization)'s
overlay in Redis — three sorted sets read newest first, in batches — and the open transaction's own
writes, exactly as ``OverlayStore._newest_first`` merges the memory overlay.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Any

from .redis_pending import Entry
from .redis_scripts import decode, position_of, upper_bound
from .store import Position, Record

Refill = Callable[[bytes, int], list[bytes]]  # (exclusive max bound, count) -> the run's next flat batch
Item = tuple[Position, bytes | None]


class Run:
    """One sorted set of the overlay, newest first from a bound; with each member's JSON when ``paired``."""

    def __init__(
        self,
        flat: list[bytes],
        asked: int,
        *,
        paired: bool,
        refill: Refill | None = None,
        note: Callable[[str, bytes], object] | None = None,
    ) -> None:
        self._paired, self._refill, self._note = paired, refill, note
        self._items: list[Item] = []
        self._next, self._asked, self._more, self._bound = 0, asked, False, b""
        self._take(flat, asked)

    @classmethod
    def empty(cls) -> Run:
        return cls([], 0, paired=False)

    @property
    def untouched(self) -> bool:
        return not self._items

    def _take(self, flat: list[bytes], asked: int) -> None:
        members = flat[::2] if self._paired else flat
        values: list[bytes | None] = list(flat[1::2]) if self._paired else [None] * len(members)
        self._items = [(position_of(raw), value) for raw, value in zip(members, values, strict=True)]
        self._next, self._asked = 0, asked
        self._more = asked > 0 and len(members) == asked
        if members:
            self._bound = b"(" + members[-1]
        if self._note is not None:
            for position, value in self._items:
                self._note(position[1], value if value is not None else b"")

    def head(self) -> Item | None:
        if self._next >= len(self._items):
            if not self._more or self._refill is None:
                return None
            asked = self._asked * 4
            self._take(self._refill(self._bound, asked), asked)
            if not self._items:
                return None
        return self._items[self._next]

    def pop(self) -> None:
        self._next += 1

    def find(self, position: Position) -> tuple[bool, bytes | None]:
        """Whether ``position`` is in the run, passing over every newer member (callers descend)."""
        head = self.head()
        while head is not None and head[0] > position:
            self.pop()
            head = self.head()
        if head is not None and head[0] == position:
            self.pop()
            return True, head[1]
        return False, None


_UNTOUCHED = (Run.empty(), Run.empty(), Run.empty())  # shared: an empty run is never advanced


def read_runs(
    page: Callable[[list[Any]], list[Any]],
    after: Position | None,
    batch: int,
    note: Callable[[str, bytes], object] | None,
) -> tuple[Run, Run, Run]:
    """The three runs of one (kind, organization) older than ``after``, read by the ``PAGE`` script
    (``page`` calls it with its arguments after the lock's): ``batch`` members of each (-1: all)."""

    def refill(run: int) -> Refill:
        def fetch(max_bound: bytes, count: int) -> list[bytes]:
            args = [part for n in range(3) for part in ((max_bound, count) if n == run else (b"+", 0))]
            flat: list[bytes] = page(args)[run]
            return flat

        return fetch

    bound = upper_bound(after)
    first = page([bound, batch, bound, batch, bound, batch])
    if not (first[0] or first[1] or first[2]):  # an untouched (kind, organization): nothing to merge
        return _UNTOUCHED
    return (
        Run(first[0], batch, paired=True, refill=refill(0), note=note),
        Run(first[1], batch, paired=True, refill=refill(1), note=note),
        Run(first[2], batch, paired=False, refill=refill(2), note=note),
    )


def newest_first(
    base_keys: list[Position],
    base_table: dict[str, Record],
    after: Position | None,
    runs: tuple[Run, Run, Run],
    mine: dict[str, Entry],
) -> Iterator[Record]:
    """Records older than ``after``, newest first: the base order minus deleted seeded records (replaced
    ones in their new version), the inserted records, and the transaction's writes (``mine``) over both."""
    inserted, replaced, deleted = runs
    added = sorted(
        (
            (entry.position, record)
            for entry in mine.values()
            if not entry.seeded and (record := entry.current) is not None and (after is None or entry.position < after)
        ),
        key=lambda item: item[0],
        reverse=True,
    )
    i = len(base_keys) if after is None else bisect.bisect_left(base_keys, after)
    k = 0
    while True:
        top_base = base_keys[i - 1] if i else None
        head = inserted.head()
        top_new = head[0] if head is not None else None
        top_mine = added[k][0] if k < len(added) else None
        top = max((p for p in (top_base, top_new, top_mine) if p is not None), default=None)
        if top is None:
            return
        if top == top_base:
            i -= 1
            entry = mine.get(top[1])
            if entry is not None:
                if entry.current is not None:
                    yield entry.current
                continue
            if deleted.find(top)[0]:
                continue
            found, value = replaced.find(top)
            yield decode(value) if found and value else base_table[top[1]]
        elif head is not None and top == top_new:
            inserted.pop()
            if top == top_mine:
                k += 1
            entry = mine.get(top[1])
            if entry is not None:
                if entry.current is not None:
                    yield entry.current
                continue
            assert head[1] is not None, f"inserted {top[1]} has no record"
            yield decode(head[1])
        else:
            k += 1
            yield added[k - 1][1]
