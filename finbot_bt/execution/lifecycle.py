"""What happens to a working order at the venue, and how the account hears of it
(private to the execution layer).

``OrderLifecycle`` applies the legs the venue delivers (arrival, cancel,
fill report) and what happens at the venue: fills
(:meth:`OrderLifecycle.venue_fill`) and terminations
(:meth:`OrderLifecycle.terminate`: cancelled, expired, rejected), each
cascading through the order's links as BackBroker does (OCO siblings, bracket
children and parents). The account hears of a fill when its report arrives
(:meth:`OrderLifecycle.report_fill`: booked by the ledger, then the order is
updated and ``OrderFilled`` emitted); a terminal status decided at the venue
is held back until every fill report of the order has arrived
(:meth:`OrderLifecycle.finish`), then the order leaves the book.
"""

from __future__ import annotations

from datetime import datetime

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderSide, OrderStatus, OrderType, RejectionReason
from finbot_bt.contracts.events import (
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from finbot_bt.contracts.orders import Order, trusted_execution
from finbot_bt.execution.event_bus import EventBus
from finbot_bt.execution.ledger import Ledger
from finbot_bt.execution.market_view import MarketView
from finbot_bt.execution.order_book import OrderBook
from finbot_bt.execution.venue import Venue
from finbot_bt.execution.working import ZERO, VenueFill, WorkingOrder

_FILLED = OrderStatus.FILLED.value
_TRAILING = (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class OrderLifecycle:
    """Venue fills and terminations with their link cascades, fill reports, retirement.

    ``in_pass`` is True while the bar matcher tries orders in sequence (it
    changes the order in which OCO siblings are cancelled); ``activated`` holds
    the bracket children whose parent filled in the current market-data call.
    """

    __slots__ = ("activated", "book", "events", "in_pass", "ledger", "market", "venue")

    def __init__(self, book: OrderBook, venue: Venue, ledger: Ledger, market: MarketView, events: EventBus) -> None:
        self.book = book
        self.venue = venue
        self.ledger = ledger
        self.market = market
        self.events = events
        self.in_pass = False
        # Children whose parent filled during this market-data call: BackBroker activates them
        # at its next cycle, so they are not tried before the next call.
        self.activated: set[str] = set()

    # ------------------------------------------------------------------ legs
    def drain(self, until: datetime) -> None:
        """Deliver the legs due at or before ``until``."""
        self.venue.drain(until, self)

    # ------------------------------------------------------------------ delivered legs
    def accept(self, working: WorkingOrder, ts: datetime) -> None:
        """The order reached the venue at ``ts``: ACCEPTED (a trailing stop takes its first stop)."""
        book = self.book
        book.accept(working, ts)  # SUBMITTED -> ACCEPTED; PENDING_CANCEL (cancel on its way) stays
        if working.match.order_type in _TRAILING and working.match.stop is None:
            last = self.market.last_price.get(working.base.symbol)
            if last is not None:
                match = working.match  # read after the move (mypy, and so mypyc, would keep stop narrowed to None)
                match.trail_adjust(last)
                book.update(working, stop_price=match.stop, limit_price=match.limit)
        self.events.emit_order(OrderAccepted, working, timestamp=ts)

    def cancel_too_late(self, order: Order, ts: datetime) -> None:
        """A cancel reached the venue after the order had filled."""
        self.events.emit(CancelRejected, timestamp=ts, order_id=order.order_id, order=order,
                         reason=RejectionReason.TOO_LATE_TO_CANCEL,
                         message=f"order {order.order_id!r} filled before the cancel reached the venue")

    def report_fill(self, working: WorkingOrder, fill: VenueFill, ts: datetime) -> None:
        """A fill report reached the account at ``ts``: book it and update the order."""
        working.in_flight_reports -= 1
        order = working.base
        booking, comm_closed, _, pos = self.ledger.book_fill(order.symbol, order.side, fill.quantity, fill.price,
                                                             not working.commission_charged)
        executed = booking.closed + booking.opened
        if executed != ZERO:
            working.commission_charged = True
            execution = trusted_execution(
                f"{order.order_id}-{len(working.executions) + 1}", abs(executed), fill.price, booking.commission,
                (fill.price - fill.requested_price) * (1 if order.side is OrderSide.BUY else -1), fill.timestamp, fill.liquidity, ts,
            )
            self.book.book_fill(working, execution, ts)
            self.events.emit_order(OrderFilled, working, timestamp=ts, execution=execution,
                             closed_quantity=booking.closed, opened_quantity=booking.opened,
                             realized_pnl=booking.realized_pnl, closed_commission=comm_closed,
                             position_quantity=pos.quantity,
                             position_avg_price=pos.avg_price, requested_price=fill.requested_price)
        if booking.opening_refused:
            if executed != ZERO and order.oco_group is not None:
                # BackBroker checks the OCO group after the partial execution's notification, before
                # the Margin of the refused opening part (its _execute; fuzz seed 4441).
                self.cancel_group(self.book.oco.pop(order.oco_group, []), order.order_id, ts, "oco",
                                  working.sequence)
            working.terminal = OrderStatus.REJECTED.value
            working.terminal_reason = (
                f"insufficient funds at execution: opening {abs(fill.quantity) - abs(executed)} {order.symbol} at "
                f"{fill.price} would take cash below zero"
            )
            self.book.update(working, rejection_reason=RejectionReason.INSUFFICIENT_FUNDS,
                             rejection_message=working.terminal_reason)
        if working.in_flight_reports == 0 and working.terminal is not None:
            self.finish(working, ts)
        if booking.opening_refused:
            # After the refusal itself (BackBroker notifies Margin, then the dependents' Canceled).
            self._cancel_dependents(working, ts)

    # ------------------------------------------------------------------ venue side
    def venue_fill(self, working: WorkingOrder, fill: VenueFill) -> None:
        """``working`` traded at the venue; its report travels to the account."""
        working.venue_filled += fill.quantity
        working.in_flight_reports += 1
        if working.venue_remaining <= ZERO:
            working.terminal = _FILLED
        latency = self.venue.draw_fill_latency()
        order = working.base
        if latency:
            self.venue.send_report(order.order_id, fill, latency)
        else:
            # Zero fill latency: the account books the fill before the pass moves on,
            # so later orders in the same bar see its cash (BackBroker's order of events).
            self.report_fill(working, fill, fill.timestamp)
        if order.oco_group is not None:
            self.cancel_group(self.book.oco.pop(order.oco_group, []), order.order_id, fill.timestamp, "oco",
                               working.sequence)
        if working.terminal == _FILLED:
            self._on_venue_filled(working, fill.timestamp)

    def terminate(self, working: WorkingOrder, status: OrderStatus, ts: datetime, reason: str,
                  children: bool = True) -> None:
        """Stop ``working`` at the venue; the account hears of it after pending fill reports."""
        if working.terminal is not None:
            return
        working.terminal = status.value
        working.terminal_reason = reason
        order = working.base
        if working.in_flight_reports == 0:
            self.finish(working, ts)
        # OCO members before bracket children (BackBroker's _ococheck, then _bracketize).
        if order.oco_group is not None and status is not OrderStatus.FILLED:
            self.cancel_group(self.book.oco.get(order.oco_group, []), order.order_id, ts, "oco", working.sequence)
        if children:
            self._cancel_children(order.order_id, ts, "parent " + status.value)
        if order.parent_id is not None and status is not OrderStatus.FILLED:
            parent = self.book.working.get(order.parent_id)
            if parent is None:  # parent done: a child leaving takes its siblings with it
                self.cancel_group(self.book.children.get(order.parent_id, []), order.order_id, ts, "bracket")
            elif parent.terminal is None:
                # Parent still working (or partly filled): the whole bracket goes, as with BackBroker.
                self.terminate(parent, OrderStatus.CANCELLED, ts, "bracket")

    def finish(self, working: WorkingOrder, ts: datetime) -> None:
        """Tell the account of the terminal status decided at the venue, and retire the order."""
        terminal = working.terminal
        if terminal is None:
            return
        if terminal == _FILLED:
            self.book.retire(working)
            return
        status = OrderStatus(terminal)
        book, events = self.book, self.events
        if status is OrderStatus.CANCELLED:
            book.update(working, status=OrderStatus.CANCELLED, cancelled_at=ts)
            events.emit_order(OrderCancelled, working, timestamp=ts, reason=working.terminal_reason)
        elif status is OrderStatus.EXPIRED:
            book.update(working, status=OrderStatus.EXPIRED, cancelled_at=ts)
            events.emit_order(OrderExpired, working, timestamp=ts)
        elif status is OrderStatus.REJECTED:
            reason = working.rejection_reason or RejectionReason.INSUFFICIENT_FUNDS
            book.update(working, status=OrderStatus.REJECTED)
            events.emit_order(OrderRejected, working, timestamp=ts, reason=reason, message=working.terminal_reason)
        book.retire(working)

    # ------------------------------------------------------------------ links
    def _on_venue_filled(self, working: WorkingOrder, ts: datetime) -> None:
        order = working.base
        clock = self.venue.clock
        for child_id in self.book.children.get(order.order_id, ()):
            child = self.book.working.get(child_id)
            if child is not None and not child.active:
                child.active = True
                # Children trade from the next bar: the parent's bar is done.
                if child.live_from is not None and clock is not None:
                    child.live_from = max(child.live_from, clock)
                if self.in_pass:
                    self.activated.add(child_id)
        if order.parent_id is not None:
            self.cancel_group(self.book.children.get(order.parent_id, []), order.order_id, ts, "bracket")

    def cancel_group(self, ids: list[str], except_id: str, ts: datetime, reason: str,
                     sequence: int | None = None) -> None:
        """Cancel the members of a link but ``except_id`` (``reason``: ``"oco"`` or ``"bracket"``)."""
        # Bracket siblings are cancelled oldest first. OCO siblings in the order BackBroker walks its
        # pending queue backwards: outside the matching pass newest first; inside it (a fill or an
        # expiry) the members already tried this pass come first, newest first, then the others.
        working = self.book.working
        members = list(ids)
        if reason == "oco":
            members.reverse()
            if self.in_pass and sequence is not None:
                tried = [i for i in members if i in working and working[i].sequence < sequence]
                members = tried + [i for i in members if i not in tried]
        cancelled: list[WorkingOrder] = []
        for other_id in members:
            if other_id == except_id:
                continue
            other = working.get(other_id)
            if other is not None and other.terminal is None:
                # The whole group first, then the bracket children of the members it cancelled
                # (BackBroker's OCO check cancels the group alone; see deliberate difference 11).
                self.terminate(other, OrderStatus.CANCELLED, ts, reason, children=reason != "oco")
                cancelled.append(other)
        if reason == "oco":
            for other in cancelled:
                self._cancel_children(other.base.order_id, ts, "parent " + OrderStatus.CANCELLED.value)

    def _cancel_children(self, order_id: str, ts: datetime, reason: str) -> None:
        for child_id in self.book.children.get(order_id, ()):
            child = self.book.working.get(child_id)
            if child is not None and child.terminal is None:
                self.terminate(child, OrderStatus.CANCELLED, ts, reason)

    def _cancel_dependents(self, working: WorkingOrder, ts: datetime) -> None:
        # BackBroker's Margin at execution: its OCO check, then its bracket (fuzz seed 3570).
        order = working.base
        if order.oco_group is not None:
            self.cancel_group(self.book.oco.get(order.oco_group, []), order.order_id, ts, "oco", working.sequence)
        self._cancel_children(order.order_id, ts, "parent rejected")
        if order.parent_id is not None:  # a refused exit takes its sibling with it
            self.cancel_group(self.book.children.get(order.parent_id, []), order.order_id, ts, "bracket")

