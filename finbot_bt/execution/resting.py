"""Price and expiry index of one symbol's working orders (private to the simulator).

A bar can only make an order trade if its range reaches the order's price:
a buy limit needs ``low <= limit``, a sell limit ``high >= limit``, a buy stop
(or untriggered buy stop limit) ``high >= stop``, a sell stop ``low <= stop``
(see :mod:`finbot_bt.execution.matching`). Orders of those kinds sit in heaps
keyed by that price, so a bar visits only the orders it crosses; resting
orders far from the market cost nothing per bar. Every other order (market,
market on close, trailing stops that ratchet every bar, IOC/FOK that end after
one bar) is visited on every bar. Orders with an ``expire_at`` also sit in an
expiry heap so that expiry needs no scan.

:meth:`RestingIndex.pop_candidates` returns the orders a bar must visit, in
submission order (time priority); :meth:`RestingIndex.refile` puts the ones
still working back after the pass. Heap entries of finished orders are
dropped lazily and the heaps are rebuilt when such entries outnumber the live
ones. The index mirrors one book dict of the simulator; a book replaced
wholesale (checkpoint restore) is detected and the index rebuilt from it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from heapq import heapify, heappop, heappush

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderSide, OrderType, TimeInForce
from finbot_bt.contracts.market import Bar
from finbot_bt.execution.working import WorkingOrder

_PriceEntry = tuple[Decimal, int, WorkingOrder]
_ExpiryEntry = tuple[datetime, int, WorkingOrder]

_ONE_BAR = (TimeInForce.IOC, TimeInForce.FOK)
BUY_LIMIT, SELL_LIMIT, BUY_STOP, SELL_STOP = 0, 1, 2, 3


def _price_slot(working: WorkingOrder) -> tuple[int, Decimal] | None:
    """Which price heap an order belongs in and its key, or None to visit it every bar."""
    if working.base.time_in_force in _ONE_BAR:
        return None
    state = working.match
    kind = state.order_type
    buy = state.side is OrderSide.BUY
    if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and state.triggered):
        limit = state.limit
        if limit is None:
            return None
        return (BUY_LIMIT, limit.copy_negate()) if buy else (SELL_LIMIT, limit)
    if kind is OrderType.STOP or kind is OrderType.STOP_LIMIT:
        stop = state.stop
        if stop is None:
            return None
        return (BUY_STOP, stop) if buy else (SELL_STOP, stop.copy_negate())
    return None


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class RestingIndex:
    """Working orders of one symbol indexed by trigger price and expiry time."""

    __slots__ = ("always", "book", "expiry", "heaps", "members", "priced", "stale", "taken_expiry")

    def __init__(self, book: dict[str, WorkingOrder]) -> None:
        self.book = book
        self.members: dict[int, WorkingOrder] = {}
        self.always: dict[int, WorkingOrder] = {}
        self.priced: set[int] = set()
        # Keys make "the bar reaches the price" read "key <= threshold" in every heap:
        # buy limit -limit <= -low, sell limit limit <= high, buy stop stop <= high,
        # sell stop -stop <= -low.
        self.heaps: tuple[list[_PriceEntry], ...] = ([], [], [], [])
        self.expiry: list[_ExpiryEntry] = []
        self.taken_expiry: list[WorkingOrder] = []
        self.stale = 0
        for working in book.values():
            self.add(working)

    def in_sync(self, book: dict[str, WorkingOrder] | None) -> bool:
        """True if this index mirrors ``book`` (same dict, same number of orders)."""
        return book is self.book and len(book) == len(self.members)

    def track(self, book: dict[str, WorkingOrder], working: WorkingOrder) -> bool:
        """Index ``working``, just added to ``book``; False if the index must be rebuilt instead."""
        if book is not self.book:
            if self.members:
                return False
            self.book = book  # an emptied book was replaced by a fresh dict
        if len(self.members) != len(book) - 1:
            return False
        self.add(working)
        return True

    def add(self, working: WorkingOrder) -> None:
        """Index a new working order."""
        sequence = working.sequence
        self.members[sequence] = working
        self._file(working)
        expire_at = working.expire_at
        if expire_at is not None:
            heappush(self.expiry, (expire_at, sequence, working))

    def remove(self, working: WorkingOrder) -> None:
        """Forget a finished order (its heap entries are dropped lazily)."""
        sequence = working.sequence
        if self.members.get(sequence) is not working:
            return
        del self.members[sequence]
        self.always.pop(sequence, None)
        if sequence in self.priced:
            self.priced.discard(sequence)
            self.stale += 1
            if self.stale > 64 and self.stale > len(self.priced):
                self._compact()

    def pop_candidates(self, bar: Bar) -> list[WorkingOrder]:
        """Orders ``bar`` may affect, in submission order; call :meth:`refile` after the pass."""
        always = self.always
        if not self.priced and not self.expiry:
            if len(always) > 1:
                return [always[s] for s in sorted(always)]
            return list(always.values())
        found = dict(always)
        neg_low = bar.low.copy_negate()
        high = bar.high
        for heap, threshold in zip(self.heaps, (neg_low, high, high, neg_low), strict=True):
            while heap and heap[0][0] <= threshold:
                self._take(heappop(heap), found)
        for working in self.pop_expired(bar.timestamp):
            found[working.sequence] = working
        if len(found) > 1:
            return [found[s] for s in sorted(found)]
        return list(found.values())

    def pop_expired(self, now: datetime) -> list[WorkingOrder]:
        """Orders with ``expire_at < now``, in submission order; call :meth:`refile` after."""
        expiry = self.expiry
        if not expiry or expiry[0][0] >= now:
            return []
        members = self.members
        found: dict[int, WorkingOrder] = {}
        while expiry and expiry[0][0] < now:
            _, sequence, working = heappop(expiry)
            if members.get(sequence) is working:
                found[sequence] = working
        taken = [found[s] for s in sorted(found)]
        self.taken_expiry.extend(taken)
        return taken

    def refile(self, visited: list[WorkingOrder]) -> None:
        """Put back the orders a pass took out that are still working."""
        if not self.taken_expiry and len(self.priced) + len(self.always) == len(self.members):
            return  # nothing was taken out
        members = self.members
        for working in visited:
            sequence = working.sequence
            if (members.get(sequence) is working and working.terminal is None
                    and sequence not in self.priced and sequence not in self.always):
                self._file(working)
        for working in self.taken_expiry:
            expire_at = working.expire_at
            if members.get(working.sequence) is working and expire_at is not None:
                heappush(self.expiry, (expire_at, working.sequence, working))
        self.taken_expiry.clear()

    def _take(self, entry: _PriceEntry, found: dict[int, WorkingOrder]) -> None:
        sequence = entry[1]
        if sequence in self.priced:
            self.priced.discard(sequence)
            found[sequence] = entry[2]
        else:
            self.stale -= 1

    def _file(self, working: WorkingOrder) -> None:
        sequence = working.sequence
        slot = _price_slot(working)
        if slot is None:
            self.always[sequence] = working
            return
        heappush(self.heaps[slot[0]], (slot[1], sequence, working))
        self.priced.add(sequence)

    def _compact(self) -> None:
        priced = self.priced
        for heap in self.heaps:
            heap[:] = [entry for entry in heap if entry[1] in priced]
            heapify(heap)
        members = self.members
        self.expiry = [entry for entry in self.expiry if members.get(entry[1]) is entry[2]]
        heapify(self.expiry)
        self.stale = 0
