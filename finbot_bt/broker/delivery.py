"""Core events out: what the strategy sees of each simulator event.

An ``OrderAccepted`` submits and accepts the Backtrader order, an ``OrderFilled``
executes it (sizes, prices, commission, P&L, the position) and a rejection,
cancel or expiry ends it; each change queues a clone of the order for the
strategy's ``notify_order``, as BackBroker does. Events of submissions made
on a strategy's call (``checksubmit``) wait for the broker's next cycle.
Other events change nothing on the Backtrader side.

The broker is the simulator's record listener (``add_record_listener``): while
nobody else listens, order events reach :meth:`NotificationDelivery.on_record`
unbuilt, as the order's working record and the event's fields, which are
logged as values and applied at once; no ``Order`` snapshot or event object is
made. Built events (another listener, a collecting call) take ``on_event``;
both paths apply the same handlers to the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import backtrader as bt

from finbot_bt.broker.bars import BarFeeder
from finbot_bt.broker.convert import to_float, to_size
from finbot_bt.broker.event_log import EventLog
from finbot_bt.broker.fast_orders import order_param
from finbot_bt.broker.orders import OrderRouter
from finbot_bt.contracts.enums import RejectionReason
from finbot_bt.contracts.events import (
    ExecutionEvent,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from finbot_bt.contracts.latency import LatencyConfig
from finbot_bt.contracts.orders import Order, OrderExecution
from finbot_bt.execution.simulator import ExecutionSimulator


class _Host(Protocol):
    p: Any
    sim: ExecutionSimulator
    positions: Any

    def notify(self, order: Any) -> None: ...

    def getcommissioninfo(self, data: Any) -> Any: ...


class NotificationDelivery:
    """Applies the simulator's events to the Backtrader orders and positions of one run.

    ``on_event`` is the simulator's listener. ``events`` records every event
    (``record_events``) as plain values (:mod:`~finbot_bt.broker.event_log`); ``deferred`` holds the events that wait for the next
    cycle; ``filler_sizes`` the sizes a Backtrader filler returned, by core id,
    until their fill arrives.
    """

    __slots__ = ("_bars", "_handlers", "_host", "_instant", "_p", "_router", "deferred", "events", "filler_sizes")

    def __init__(self, host: _Host, router: OrderRouter, bars: BarFeeder, latency: LatencyConfig) -> None:
        self._host = host
        self._p = host.p
        self._router = router
        self._bars = bars
        self._instant = latency.is_instant
        self.events = EventLog()
        self.deferred: list[ExecutionEvent] = []
        self.filler_sizes: dict[str, Any] = {}
        self._handlers: dict[type[ExecutionEvent], Callable[[Any], None]] = {
            event_type: getattr(self, name) for event_type, name in _HANDLERS.items()}

    def on_event(self, event: ExecutionEvent) -> None:
        if self._p.record_events:
            self.events.append(event)
        if self._router.in_submit and self._p.checksubmit:
            self.deferred.append(event)
        else:
            self.apply(event)

    def on_record(self, event_type: type[Any], sequence: int, working: Any,
                  fields: dict[str, Any]) -> None:
        """The simulator's record listener: an order event, unbuilt (see the module docstring)."""
        if self._p.record_events:
            self.events.append_record(event_type, sequence, working, fields)
        if self._router.in_submit and self._p.checksubmit:
            # Kept for the next cycle: built now, as the order is at this event.
            self.deferred.append(event_type(sequence=sequence, order=working.order, **fields))
            return
        if event_type is OrderFilled:
            self._fill(working.order_id, fields["execution"], fields["closed_quantity"], fields["opened_quantity"],
                       fields["closed_commission"], fields["realized_pnl"])
        elif event_type is OrderAccepted:
            self._accepted(working.order_id)
        elif event_type is OrderCancelled or event_type is OrderExpired or event_type is OrderRejected:
            self._terminal(event_type, working.order_id, working.stop_price, working.limit_price,
                           fields.get("reason"), fields.get("message"))

    def deliver_deferred(self) -> None:
        """Apply the events that waited for this cycle."""
        deferred, self.deferred = self.deferred, []
        for event in deferred:
            self.apply(event)

    def apply(self, event: ExecutionEvent) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _apply_accepted(self, event: OrderAccepted) -> None:
        self._accepted(event.order.order_id)

    def _apply_terminal(self, event: OrderRejected | OrderCancelled | OrderExpired) -> None:
        core = event.order
        self._terminal(type(event), core.order_id, core.stop_price, core.limit_price, getattr(event, "reason", None),
                       getattr(event, "message", None))

    def _apply_fill(self, event: OrderFilled) -> None:
        self._fill(event.order.order_id, event.execution, event.closed_quantity, event.opened_quantity,
                   event.closed_commission, event.realized_pnl)

    def _accepted(self, core_id: str) -> None:
        order = self._router.bt_orders.get(core_id)
        if order is not None and order.status in (bt.Order.Created, bt.Order.Submitted):
            if order.status == bt.Order.Created:
                order.submit()
            order.accept()
            self._host.notify(order)

    def _terminal(self, event_type: type[ExecutionEvent], core_id: str, stop_price: Decimal | None,
                  limit_price: Decimal | None, reason: Any, message: Any) -> None:
        # ``reason`` and ``message``: a rejection's (an OrderCancelled's reason is not used).
        router = self._router
        order = router.bt_orders.get(core_id)
        if order is None or not order.alive():
            return
        if router.trailing and core_id in router.trailing:
            copy_trail(order, stop_price, limit_price)  # trailed on this bar before its group cancelled it
        if event_type is OrderRejected:
            if reason is RejectionReason.INSUFFICIENT_FUNDS:
                order.margin()
            else:
                order.reject()
            order.addinfo(reject_reason=reason.value, reject_message=message)
        elif event_type is OrderCancelled:
            order.cancel()
        else:
            order.status = bt.Order.Expired
            order.executed.dt = order.data.datetime[0]
        self._host.notify(order)
        router.forget(order)

    def _fill(self, core_id: str, execution: OrderExecution, closed_quantity: Decimal, opened_quantity: Decimal,
              closed_commission: Decimal, realized_pnl: Decimal) -> None:
        order = self._router.bt_orders.get(core_id)
        if order is None:
            return
        host, bars = self._host, self._bars
        data = order_param(order, "data")
        position = host.positions[data]
        comminfo = host.getcommissioninfo(data)
        price = to_float(execution.price)
        # Sizes keep the strategy's type, as BackBroker: an int order executes int sizes.
        # With a filler, BackBroker executes the size the filler returned (its type too).
        filled = self.filler_sizes.pop(core_id, None) if self.filler_sizes else None
        as_int = type(order.created.size if filled is None else filled) is int
        closed = to_size(closed_quantity, as_int)
        opened = to_size(opened_quantity, as_int)
        # Backtrader's Position splits the size itself (a reversal closes the position's own size,
        # an int): take its values, of its types, when they agree with the simulator's split.
        _, _, split_opened, split_closed = position.pseudoupdate(closed + opened, price)
        if split_opened == opened and split_closed == closed:
            opened, closed = split_opened, split_closed
        refused = closed and not opened and self._refused_reversal_size(order, filled, closed)
        if refused:
            # BackBroker executes the closing part of the size it tried, of that split's type
            # (a float position makes it a float; fuzz seed 816).
            tried_closed = position.pseudoupdate(refused, price)[3]
            if tried_closed == closed:
                closed = tried_closed
        size = closed + opened
        closedvalue = comminfo.getvaluesize(-closed, position.price) if closed else 0.0
        openedvalue = comminfo.getvaluesize(opened, price) if opened else 0.0
        closedcomm = to_float(closed_commission)
        openedcomm = to_float(execution.commission - closed_commission)
        if refused:  # BackBroker reports the position the whole size would have made
            psize, pprice, _, _ = position.pseudoupdate(refused, price)
            position.update(size, price, bars.stamp(bars.lines(data)[0]))
        else:
            psize, pprice, _, _ = position.update(size, price, bars.stamp(bars.lines(data)[0]))
        order.execute(self._execution_dt(order, execution.timestamp), size, price,
                      closed, closedvalue, closedcomm, opened, openedvalue, openedcomm,
                      comminfo.margin, to_float(realized_pnl), psize, pprice)
        order.addcomminfo(comminfo)
        host.notify(order)
        if not order.alive():
            self._router.forget(order)

    def _refused_reversal_size(self, order: Any, filled: Any, closed: Any) -> Any:
        # The size BackBroker's _execute tried when only the closing part of a reversal went
        # through (the opening part refused for cash), or 0 if nothing was refused.
        if filled is not None:
            attempted = filled if order.isbuy() else -filled
            if abs(attempted) > abs(order.executed.remsize):
                attempted = order.executed.remsize
        elif self._p.fill is not None and self._p.fill.volume_cap is not None:
            return 0  # a core volume cap decided the size: not known here
        else:
            attempted = order.executed.remsize
        return attempted if abs(attempted) > abs(closed) else 0

    def _execution_dt(self, order: Any, timestamp: datetime) -> float:
        exectype = order_param(order, "exectype")
        if self._p.coc and exectype == bt.Order.Market and order.info.get("coc", True):
            return float(order.created.dt)
        if self._instant:
            data = order_param(order, "data")
            line = self._bars.lines(data)[0]
            if exectype == bt.Order.Close and timestamp < self._bars.last_ts.get(data, timestamp):
                return float(line[-1])  # at the close noted on the bar before (BackBroker's ago=-1)
            return float(line[0])
        return float(bt.date2num(timestamp))

    def follow_trails(self) -> None:
        """Move each trailing order's ``created.price`` (and ``pricelimit``) with its trail, as BackBroker."""
        sim = self._host.sim
        for core_id, order in self._router.trailing.items():
            core = sim.get_order(core_id)
            if core is not None:
                follow_trail(order, core)


def follow_trail(order: Any, core: Order) -> None:
    """Copy a core trailing order's current stop (and limit) onto its Backtrader order."""
    copy_trail(order, core.stop_price, core.limit_price)


def copy_trail(order: Any, stop_price: Decimal | None, limit_price: Decimal | None) -> None:
    """Set a trailing Backtrader order's ``created.price`` (and ``pricelimit``) to the core's stop (and limit)."""
    if stop_price is not None:
        order.created.price = to_float(stop_price)
        if limit_price is not None and order.exectype == bt.Order.StopTrailLimit:
            order.created.pricelimit = to_float(limit_price)


# Event type -> how the broker applies it to Backtrader (other events change nothing there).
_HANDLERS: dict[type[ExecutionEvent], str] = {
    OrderAccepted: "_apply_accepted",
    OrderFilled: "_apply_fill",
    OrderRejected: "_apply_terminal",
    OrderCancelled: "_apply_terminal",
    OrderExpired: "_apply_terminal",
}
