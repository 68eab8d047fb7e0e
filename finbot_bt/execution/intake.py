"""The account side of orders: submission, cancel requests and the kill switch
(private to the execution layer).

``OrderIntake`` runs the steps of ``submit_order``: the clock moves to the
submission time, a reused id is rejected, a DAY order gets its expiry (the end
of its calendar day), the :class:`~finbot_bt.execution.trading_gate.TradingGate`
decides, and the order is either rejected (taking its OCO group and an
unfilled bracket entry with it) or put in the book as SUBMITTED and sent to the
venue. Cancel requests are checked here and sent; the kill switch halts
trading, cancels every working order and can flatten every position with
market orders that bypass the halt.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from decimal import Decimal

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    RejectionReason,
    TimeInForce,
    TradingState,
)
from finbot_bt.contracts.events import CancelRejected, OrderRejected, OrderSubmitted
from finbot_bt.contracts.orders import Order, evolve_order
from finbot_bt.errors import ContractError
from finbot_bt.execution.event_bus import EventBus
from finbot_bt.execution.lifecycle import OrderLifecycle
from finbot_bt.execution.order_book import OrderBook
from finbot_bt.execution.trading_gate import TradingGate
from finbot_bt.execution.venue import Venue
from finbot_bt.execution.working import ZERO, WorkingOrder

END_OF_DAY = time(23, 59, 59, 999999)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class OrderIntake:
    """Submission and cancel requests of one account, and its kill switch."""

    __slots__ = ("book", "events", "gate", "lifecycle", "venue")

    def __init__(self, book: OrderBook, venue: Venue, gate: TradingGate, lifecycle: OrderLifecycle,
                 events: EventBus) -> None:
        self.book = book
        self.venue = venue
        self.gate = gate
        self.lifecycle = lifecycle
        self.events = events

    def submit(self, order: Order, ts: datetime, *, reference_price: Decimal | None, exempt: bool,
               funds_price: Decimal | None, close_session: tuple[datetime, datetime] | None,
               fixed_price: Decimal | None) -> Order:
        """Submit ``order`` at ``ts``; see ``ExecutionSimulator.submit_order``."""
        result = self.enter(order, ts, reference_price=reference_price, exempt=exempt, funds_price=funds_price,
                            close_session=close_session, fixed_price=fixed_price)
        return result if isinstance(result, Order) else result.order

    def enter(self, order: Order, ts: datetime, *, reference_price: Decimal | None, exempt: bool,
              funds_price: Decimal | None, close_session: tuple[datetime, datetime] | None,
              fixed_price: Decimal | None) -> Order | WorkingOrder:
        """:meth:`submit`, returning the order refused or the working record of the order put in the book
        (no ``Order`` is built for it)."""
        if not isinstance(order, Order):
            raise ContractError(f"submit_order expects an Order, got {type(order).__name__}")
        gate = self.gate
        if exempt and not gate.bypass:
            gate.bypass = True
            try:
                return self.enter(order, ts, reference_price=reference_price, exempt=False,
                                   funds_price=funds_price, close_session=close_session, fixed_price=fixed_price)
            finally:
                gate.bypass = False
        self.venue.advance_clock(ts)
        if order.order_id in self.book.orders:
            dup = replace(order, status=OrderStatus.REJECTED, created_at=order.created_at or ts)
            self.events.emit(OrderRejected, timestamp=ts, order=dup, reason=RejectionReason.DUPLICATE_ORDER,
                             message=f"order id {order.order_id!r} was already used")
            return dup
        if order.status is not OrderStatus.NEW:
            raise ContractError(f"only NEW orders can be submitted; {order.order_id!r} is {order.status.value}")
        created_at = order.created_at or ts
        expire_at = order.expire_at
        if order.time_in_force is TimeInForce.DAY and expire_at is None:
            expire_at = day_end(ts)
        refusal = gate.pre_trade(order, ts, reference_price if funds_price is None else funds_price)
        if refusal is not None:
            reason, message = refusal
            rejected = evolve_order(order, created_at=created_at, expire_at=expire_at,
                                    status=OrderStatus.REJECTED, rejection_reason=reason,
                                    rejection_message=message)
            self._reject(order, rejected, ts, reason, message)
            return rejected
        working = self.book.open(order, ts, created_at, expire_at)  # SUBMITTED (the Order is built on read)
        working.reference_price = reference_price
        if fixed_price is not None and order.order_type is OrderType.MARKET:
            working.fixed_price = fixed_price
        if close_session is not None and order.order_type is OrderType.MARKET_ON_CLOSE:
            working.close_after, working.session_end = close_session
        self.events.emit_order(OrderSubmitted, working, timestamp=ts)
        venue = self.venue
        if venue.arrives_now():
            # Zero submission latency and nothing in flight: the queue would hand this
            # arrival straight back; deliver it, then whatever it set in motion.
            venue.arrive(working, ts, self.lifecycle)
            if venue.queue:
                venue.drain(ts, self.lifecycle)
        else:
            venue.send_order(order.order_id, ts)
            venue.drain(ts, self.lifecycle)
        return working

    def _reject(self, order: Order, rejected: Order, ts: datetime, reason: RejectionReason, message: str) -> None:
        book, lifecycle = self.book, self.lifecycle
        if book.retain_history:
            book.record(rejected)
        self.events.emit(OrderRejected, timestamp=ts, order=rejected, reason=reason, message=message)
        if order.oco_group is not None:
            lifecycle.cancel_group(book.oco.get(order.oco_group, []), order.order_id, ts, "oco")
        if order.parent_id is not None:
            # A bracket that cannot place one of its exits is not entered at all (BackBroker
            # cancels the whole bracket): never leave the entry working unprotected.
            parent = book.working.get(order.parent_id)
            if parent is not None and parent.terminal is None and parent.venue_filled == ZERO:
                lifecycle.terminate(parent, OrderStatus.CANCELLED, ts, "bracket child rejected")

    def cancel(self, order_id: str, ts: datetime) -> Order | None:
        """Request a cancel at ``ts``; see ``ExecutionSimulator.cancel_order``."""
        self.venue.advance_clock(ts)
        events = self.events
        order = self.book.get(order_id)
        if order is None:
            events.emit(CancelRejected, timestamp=ts, order_id=order_id,
                        reason=RejectionReason.UNKNOWN_ORDER, message=f"no order with id {order_id!r}")
            return None
        working = self.book.working.get(order_id)
        if working is None or order.status.is_terminal:
            events.emit(CancelRejected, timestamp=ts, order_id=order_id, order=order,
                        reason=RejectionReason.TOO_LATE_TO_CANCEL,
                        message=f"order {order_id!r} is already {order.status.value}")
            return order
        if order.status is OrderStatus.PENDING_CANCEL:
            events.emit(CancelRejected, timestamp=ts, order_id=order_id, order=order,
                        reason=RejectionReason.INVALID_ORDER,
                        message=f"a cancel for order {order_id!r} is already on its way")
            return order
        self.book.update(working, status=OrderStatus.PENDING_CANCEL)
        self.venue.send_cancel(order_id, ts)
        self.lifecycle.drain(ts)
        return working.order

    def kill_switch(self, reason: str, ts: datetime, cancel_open_orders: bool, flatten: bool) -> None:
        """HALT trading; cancel every working order; flatten every position (exempt market orders)."""
        self.gate.set_state(TradingState.HALTED, reason, ts)
        if cancel_open_orders:
            for working in list(self.book.working.values()):
                self.lifecycle.terminate(working, OrderStatus.CANCELLED, ts, "kill switch")
        if flatten:
            self.gate.bypass = True
            try:
                for symbol, pos in sorted(self.gate.ledger.portfolio.positions.items()):
                    if pos.quantity == 0:
                        continue
                    side = OrderSide.SELL if pos.quantity > 0 else OrderSide.BUY
                    self.submit(
                        Order(order_id=self.book.next_order_id(), symbol=symbol, side=side,
                              order_type=OrderType.MARKET, quantity=abs(pos.quantity)),
                        ts, reference_price=None, exempt=False, funds_price=None, close_session=None,
                        fixed_price=None,
                    )
            finally:
                self.gate.bypass = False


def day_end(ts: datetime) -> datetime:
    """End of ``ts``'s calendar day: where DAY orders expire."""
    return datetime.combine(ts.date(), END_OF_DAY, tzinfo=ts.tzinfo)
