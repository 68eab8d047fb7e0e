"""The venue clock and the latency legs between account and venue (private to the execution layer).

``Venue`` keeps the simulated clock (it never goes backwards), draws fill
latency from the simulator's RNG and sends the three legs through a
:class:`~finbot_bt.execution.queue.PendingActionQueue`:

* an order reaches the venue ``submission_latency`` after it was submitted;
* a cancel request reaches it ``cancel_latency`` after it was sent;
* a fill report reaches the account a fill latency (drawn from
  ``[fill_latency_min, fill_latency_max]``) after the fill.

:meth:`Venue.drain` delivers the legs that are due, in due-time order, and
applies the race rules between cancels and fills:

* a cancel that overtakes its order in flight cancels it when the order arrives;
* a cancel reaching an order that has filled at the venue is rejected as too late
  (fills during the cancel window are real);
* a fill inside a bar happens at the bar's time: a cancel reaching the venue
  earlier in that bar wins (:meth:`Venue.cancel_arrives_first`).

What a delivered leg does to the order is the :class:`VenueHandler`'s business.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Protocol

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderStatus
from finbot_bt.contracts.latency import LatencyConfig
from finbot_bt.contracts.orders import Order
from finbot_bt.errors import MarketDataError
from finbot_bt.execution.order_book import OrderBook
from finbot_bt.execution.queue import ActionKind, PendingAction, PendingActionQueue
from finbot_bt.execution.working import VenueFill, WorkingOrder

_FILLED = OrderStatus.FILLED.value


class VenueHandler(Protocol):
    """What a delivered leg does to its order (the order lifecycle provides it)."""

    def accept(self, working: WorkingOrder, ts: datetime) -> None: ...

    def finish(self, working: WorkingOrder, ts: datetime) -> None: ...

    def terminate(self, working: WorkingOrder, status: OrderStatus, ts: datetime, reason: str) -> None: ...

    def cancel_too_late(self, order: Order, ts: datetime) -> None: ...

    def report_fill(self, working: WorkingOrder, fill: VenueFill, ts: datetime) -> None: ...


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class Venue:
    """Simulated clock, latency draws and the queue of legs in flight.

    Parameters
    ----------
    latency : LatencyConfig
    rng : random.Random
        The simulator's RNG (fill latency draws).
    book : OrderBook
        Where delivered legs find their orders.
    """

    __slots__ = ("_latency", "book", "clock", "fixed_fill_latency", "instant", "queue", "rng")

    instant: bool  # every leg of the latency is zero
    fixed_fill_latency: timedelta | None  # the fill latency when it is not drawn (min == max)

    def __init__(self, latency: LatencyConfig, rng: random.Random, book: OrderBook) -> None:
        self.latency = latency
        self.rng = rng
        self.book = book
        self.queue = PendingActionQueue()
        self.clock: datetime | None = None

    @property
    def latency(self) -> LatencyConfig:
        """The three legs' latency (replaceable: legs sent afterwards follow)."""
        return self._latency

    @latency.setter
    def latency(self, value: LatencyConfig) -> None:
        self._latency = value
        self.instant = value.is_instant
        fixed = value.fill_latency_min
        self.fixed_fill_latency = fixed if fixed == value.fill_latency_max else None

    # ------------------------------------------------------------------ clock
    def now(self, timestamp: datetime | None) -> datetime:
        """``timestamp`` (the clock moves to it), or the clock's time when None."""
        if timestamp is None:
            if self.clock is None:
                raise MarketDataError("no timestamp given and the simulator clock has not started")
            return self.clock
        self.advance_clock(timestamp)
        return timestamp

    def advance_clock(self, timestamp: datetime) -> None:
        """Move the clock to ``timestamp``; MarketDataError if it is not a datetime or in the past."""
        if not isinstance(timestamp, datetime):
            raise MarketDataError(f"timestamp must be a datetime, got {timestamp!r}")
        if self.clock is not None and timestamp < self.clock:
            raise MarketDataError(
                f"time went backwards: {timestamp.isoformat()} is before the simulator clock "
                f"{self.clock.isoformat()}"
            )
        self.clock = timestamp

    # ------------------------------------------------------------------ legs
    def send_order(self, order_id: str, ts: datetime) -> None:
        """The order leaves the account at ``ts``."""
        self.queue.add_action(ts + self.latency.submission_latency, ActionKind.SUBMIT, order_id)

    def arrives_now(self) -> bool:
        """True if an order sent now reaches the venue at once with nothing queued before it.

        Then the caller may deliver the arrival directly (:meth:`arrive`) instead of
        queueing it and draining: the queue would pop exactly that action. The
        action's sequence number is consumed all the same, so the queue's state
        (and a checkpoint of it) is what the queued way leaves.
        """
        if self._latency.submission_latency or self.queue:
            return False
        self.queue.skip_sequence()
        return True

    def send_cancel(self, order_id: str, ts: datetime) -> None:
        """A cancel request leaves the account at ``ts``."""
        self.queue.add_action(ts + self.latency.cancel_latency, ActionKind.CANCEL, order_id)

    def draw_fill_latency(self) -> timedelta:
        """A fill report's travel time, uniform in microseconds over the configured range."""
        fixed = self.fixed_fill_latency
        if fixed is not None:
            return fixed
        low, high = self._latency.fill_latency_min, self._latency.fill_latency_max
        span = (high - low) // timedelta(microseconds=1)
        # randrange(span + 1) draws exactly what randint(0, span) draws (one call less).
        return low + timedelta(microseconds=self.rng.randrange(span + 1))

    def send_report(self, order_id: str, fill: VenueFill, latency: timedelta) -> None:
        """A fill report leaves the venue at the fill's time and travels ``latency``."""
        self.queue.add_action(fill.timestamp + latency, ActionKind.FILL_REPORT, order_id, fill)

    def cancel_arrives_first(self, order: Order, ts: datetime) -> bool:
        """True if a cancel of ``order`` (PENDING_CANCEL) reaches the venue before ``ts``."""
        if order.status is not OrderStatus.PENDING_CANCEL:
            return False
        order_id = order.order_id
        return any(action.kind is ActionKind.CANCEL and action.order_id == order_id and action.due_time < ts
                   for action in self.queue)

    # ------------------------------------------------------------------ delivery
    def drain(self, until: datetime, handler: VenueHandler) -> None:
        """Deliver every leg due at or before ``until``, in due-time order."""
        queue = self.queue
        while True:
            action = queue.pop_due(until)
            if action is None:
                return
            self._deliver(action, handler)

    def arrive(self, working: WorkingOrder | None, ts: datetime, handler: VenueHandler) -> None:
        """``working`` (None: gone from the book) reaches the venue at ``ts``."""
        if working is None:
            return
        working.live_from = ts
        if working.cancel_at_venue:
            working.terminal = OrderStatus.CANCELLED.value
            working.terminal_reason = "user"
            handler.finish(working, ts)
        else:
            handler.accept(working, ts)

    def _deliver(self, action: PendingAction, handler: VenueHandler) -> None:
        working = self.book.working.get(action.order_id)
        if working is None:
            if action.kind is ActionKind.CANCEL and self.book.status(action.order_id) is OrderStatus.FILLED:
                order = self.book.get(action.order_id)
                assert order is not None
                handler.cancel_too_late(order, action.due_time)
            return
        ts = action.due_time
        kind = action.kind
        if kind is ActionKind.SUBMIT:
            self.arrive(working, ts, handler)
        elif kind is ActionKind.CANCEL:
            if working.terminal is not None:
                if working.terminal == _FILLED:
                    handler.cancel_too_late(working.order, ts)
            elif working.live_from is None:
                working.cancel_at_venue = True  # overtook its order: cancel it on arrival
            else:
                handler.terminate(working, OrderStatus.CANCELLED, ts, "user")
        else:
            handler.report_fill(working, action.payload, ts)
