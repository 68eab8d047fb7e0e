"""Backtrader orders in: from ``buy``/``sell``/``submit``/``cancel`` to core orders in the simulator.

Each transmitted ``bt.Order`` gets a core order id and is translated by
:func:`finbot_bt.broker.translate.order_from_bt`; bracket members are held until
a transmitting member arrives, OCO groups are named after their leader's core
id, and, as BackBroker, submitted orders are checked (cash, risk) at the
broker's next cycle (``checksubmit``). The router keeps the two-way map
between Backtrader orders and core order ids that the notification side and
the checkpoints read.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import backtrader as bt

from finbot_bt.broker.bars import BarFeeder
from finbot_bt.broker.convert import finite_positive, to_decimal
from finbot_bt.broker.fast_orders import OrderFactory, mark_submitted, order_param
from finbot_bt.broker.symbols import SymbolTable
from finbot_bt.broker.translate import MIDNIGHT, bar_from_data, core_expiry, core_time, order_from_bt
from finbot_bt.contracts.enums import OrderStatus, RejectionReason
from finbot_bt.errors import ConfigError
from finbot_bt.execution.simulator import ExecutionSimulator

EPOCH = datetime(1970, 1, 1)


class _Host(Protocol):
    p: Any
    sim: ExecutionSimulator

    def notify(self, order: Any) -> None: ...

    def submit(self, order: Any) -> Any: ...


class OrderRouter:
    """Backtrader orders of one run, sent to the simulator.

    ``bt_orders`` maps a core order id to its working Backtrader order,
    ``core_ids`` a Backtrader order ref to its core id, ``oco_leader`` an order
    ref to its OCO group leader's ref, ``trailing`` the working trailing orders
    by core id; ``in_submit`` is True while submissions run on a strategy's
    call (their notifications wait for the next cycle).
    """

    __slots__ = ("_bars", "_expiry_memo", "_factory", "_host", "_open_checked", "_symbols", "_timed_daily", "bt_orders",
                 "core_ids", "held", "in_submit", "oco_leader", "to_submit", "trailing")

    def __init__(self, host: _Host, symbols: SymbolTable, bars: BarFeeder) -> None:
        self._host = host
        self._symbols = symbols
        self._bars = bars
        self.bt_orders: dict[str, Any] = {}
        self.core_ids: dict[int, str] = {}
        self.oco_leader: dict[int, int] = {}
        self.trailing: dict[str, Any] = {}
        self.held: dict[int, list[Any]] = {}
        self.to_submit: collections.deque[tuple[int, Any]] = collections.deque()
        self._open_checked: dict[int, Any] = {}  # order ref -> data: a cheat-on-open market order's check
        # order ref -> (order, data): timed as daily before its feed could be told intraday (first bar, no preload)
        self._timed_daily: dict[int, tuple[Any, Any]] = {}
        self.in_submit = False
        self._expiry_memo: tuple[tuple[float, float, bool, Any], datetime] | None = None
        self._factory = OrderFactory(bars.stamp)

    # ------------------------------------------------------------------ placing
    def place(self, order_class: Any, oco: Any, info: dict[str, Any], **params: Any) -> Any:
        """BackBroker's buy/sell: a genuine bt order, extra keywords in order.info, then OCO and submit."""
        order = self._factory.new_order(order_class, params)
        if info:
            order.addinfo(**info)
        self.oco_leader[order.ref] = order.ref if oco is None else self.oco_leader.get(oco.ref, oco.ref)
        return self._host.submit(order)

    def submit(self, order: Any) -> Any:
        """Hold bracket members until a transmitting order arrives, then send the group."""
        parent = order_param(order, "parent")
        group_ref = parent.ref if parent is not None else order.ref
        if parent is not None and parent.ref not in self.core_ids and group_ref not in self.held:
            order.reject()
            order.addinfo(reject_reason=RejectionReason.PARENT_INACTIVE.value,
                          reject_message="parent order was never transmitted")
            self._host.notify(order)
            return order
        self.held.setdefault(group_ref, []).append(order)
        if not order_param(order, "transmit"):
            return order
        last = order
        for member in self.held.pop(group_ref):
            last = self.transmit(member)
        return last

    def flatten(self, positions: Any) -> None:
        """Send a market order closing each open position; it passes a trading halt."""
        for data, position in list(positions.items()):
            if position.size:
                cls = bt.SellOrder if position.size > 0 else bt.BuyOrder
                order = self._factory.new_order(cls, {"owner": None, "data": data, "size": abs(position.size),
                                                      "exectype": bt.Order.Market})
                self.oco_leader[order.ref] = order.ref
                self.transmit(order, exempt=True)

    def transmit(self, order: Any, exempt: bool = False) -> Any:
        host, symbols = self._host, self._symbols
        p = host.p
        data = order_param(order, "data")
        refuse_compensation(data)
        symbol = symbols.symbol(data)
        symbols.sync_instrument(host.sim, symbol, data)
        core_id = host.sim.next_order_id()
        ref = order.ref
        self.core_ids[ref] = core_id
        self.bt_orders[core_id] = order
        exectype = order_param(order, "exectype")
        if exectype == bt.Order.StopTrail or exectype == bt.Order.StopTrailLimit:
            self.trailing[core_id] = order
        mark_submitted(order, data)
        historical = exectype == bt.Order.Historical
        if p.checksubmit and not historical:
            host.notify(order)
        parent = order_param(order, "parent")
        parent_id = self.core_ids.get(parent.ref) if parent is not None else None
        valid = order_param(order, "valid")
        expire_at = self._expiry(valid, data) if valid else None
        try:
            core_order = order_from_bt(order, order_id=core_id, symbol=symbol,
                                       oco_group=f"oco-{self._oco_group_id(order, core_id)}",
                                       parent_id=parent_id, expire_at=expire_at)
        except (ArithmeticError, ValueError) as exc:
            self._reject_locally(order, f"order cannot be translated: {exc}")
            return order
        timestamp, reference = self._submission_time(order, data)
        funds_price = None
        if p.coc and exectype == bt.Order.Market and finite_positive(order.created.pclose):
            # Cheat-on-close fills at the creation close even when the order names a price
            # (BackBroker); its submission check still values the order at that price.
            funds_price, reference = reference, to_decimal(order.created.pclose)
        submission = functools.partial(
            host.sim.send_order, core_order, timestamp, reference_price=reference, exempt=exempt,
            funds_price=funds_price, close_session=self._close_session(order, data))
        if historical:
            # Order history: accepted unchecked and filled at its own price on this bar (BackBroker).
            submission.keywords.update(exempt=True, fixed_price=to_decimal(order.created.price))
            self._submit_now(submission)
        elif p.checksubmit:
            # As BackBroker, submitted orders are checked (cash, risk) at the broker's next cycle:
            # a setcash or add_cash made after the order in the same next() counts.
            self.to_submit.append((ref, submission))
            if (valid or exectype == bt.Order.Close) and self._bars.is_daily(data) and len(data) < 2:
                self._timed_daily[ref] = (order, data)
            if p.coo and exectype == bt.Order.Market:
                self._open_checked[ref] = data
        else:
            self._submit_now(submission)
        return order

    def _submit_now(self, submission: Any) -> None:
        clock = self._host.sim.clock
        if clock is not None and submission.args[1] < clock:
            # An order from next_open() moved the clock to its feed's open: not before it.
            submission = functools.partial(submission.func, submission.args[0], clock, **submission.keywords)
        submission()

    def flush(self, defer: bool) -> None:
        """Send the orders waiting for the cycle; ``defer``: called from a strategy (cancel, kill
        switch), so their notifications wait for ``next()``."""
        self.in_submit = defer
        try:
            while self.to_submit:
                ref, submission = self.to_submit.popleft()
                data = self._open_checked.pop(ref, None) if self._open_checked else None
                if data is not None and finite_positive(data.open[0]):
                    # Cheat-on-open: BackBroker's check values a market order at its data's
                    # open when the check runs (the bar after the order's, for one from next()).
                    submission.keywords["funds_price"] = to_decimal(data.open[0])
                if self._timed_daily:
                    submission = self._retimed(ref, submission)
                self._submit_now(submission)
        finally:
            self.in_submit = False

    def _retimed(self, ref: int, submission: Any) -> Any:
        # An order placed on its feed's first bar without preload was timed as daily; if the feed's
        # next bar showed it intraday (fuzz seed 2225), time its validity and session end again.
        entry = self._timed_daily.pop(ref, None)
        if entry is None or self._bars.is_daily(entry[1]):
            return submission
        order, data = entry
        core_order = submission.args[0]
        valid = order_param(order, "valid")
        if valid:
            core_order = dataclasses.replace(core_order, expire_at=self._expiry(valid, data))
        keywords = {**submission.keywords, "close_session": self._close_session(order, data)}
        return functools.partial(submission.func, core_order, *submission.args[1:], **keywords)

    def _close_session(self, order: Any, data: Any) -> tuple[datetime, datetime] | None:
        # Backtrader's Close rule in simulated time: tried on bars after the creation bar,
        # filled from the first bar at or after the order's end of session (order.dteos).
        if order_param(order, "exectype") != bt.Order.Close or not order.dteos:
            return None
        daily, close = self._bars.is_daily(data), self._host.p.session_close
        return (core_time(bt.num2date(order.created.dt), daily, close),
                core_time(bt.num2date(order.dteos), daily, close))

    def _expiry(self, valid: float, data: Any) -> datetime:
        # Orders placed together usually share their validity: convert each value once.
        key = (valid, self._bars.lines(data)[0][0] if len(data) else 0.0, self._bars.is_daily(data),
               self._host.p.session_close)
        memo = self._expiry_memo
        if memo is None or memo[0] != key:
            bar_time = bt.num2date(key[1]).time() if len(data) else MIDNIGHT
            memo = self._expiry_memo = (key, core_expiry(bt.num2date(valid), key[2], bar_time, key[3]))
        return memo[1]

    def _oco_group_id(self, order: Any, core_id: str) -> str:
        # Named after the leader's core id: Backtrader refs restart in a new process.
        leader = self.oco_leader.get(order.ref, order.ref)
        return self.core_ids.get(leader, core_id)

    def _reject_locally(self, order: Any, message: str) -> None:
        order.reject()
        order.addinfo(reject_reason=RejectionReason.INVALID_ORDER.value, reject_message=message)
        self._host.notify(order)
        self.forget(order)

    def _submission_time(self, order: Any, data: Any) -> tuple[datetime, Decimal | None]:
        bars, p = self._bars, self._host.p
        now = bars.now or EPOCH
        if p.coo and len(data) > bars.last_len.get(data, 0):
            # next_open(): the bar has started but the broker has not seen it yet.
            daily = bars.is_daily(data)
            ts = core_time(data.datetime.datetime(0), daily, p.session_close)
            bar = bar_from_data(data, ts, daily, p.session_open, bars.last_ts.get(data))
            if bar is not None:
                open_time = bar.open_time or bars.last_ts.get(data) or now
                if order_param(order, "exectype") == bt.Order.Market:
                    return max(open_time, now), bar.open
                return max(open_time, now), _created_price(order)
        # BackBroker's submission check values every order at ``created.price``
        # (the creation close for market orders, else the order's own price).
        return now, _created_price(order)

    # ------------------------------------------------------------------ cancelling and lookups
    def cancel(self, order: Any) -> bool:
        """Request a cancel; True if the request was sent (the order was working)."""
        if any(ref == order.ref for ref, _ in self.to_submit):
            self.flush(defer=True)  # the order reaches the simulator, then the cancel
        core_id = self.core_ids.get(order.ref)
        if core_id is None or not order.alive():
            for group in self.held.values():
                if order in group:
                    group.remove(order)
                    order.cancel()
                    self._host.notify(order)
                    return True
            return False
        result = self._host.sim.cancel_order(core_id, self._bars.now or EPOCH)
        return result is not None and result.status in (OrderStatus.PENDING_CANCEL, OrderStatus.CANCELLED)

    def forget(self, order: Any) -> None:
        """Stop tracking a Backtrader order that is no longer working."""
        core_id = self.core_ids.get(order.ref)
        if core_id is not None:
            self.bt_orders.pop(core_id, None)
            self.trailing.pop(core_id, None)

    def bt_order_for(self, core_id: str) -> Any:
        return self.bt_orders.get(core_id)

    def orders_open(self) -> list[Any]:
        """The accepted orders still working."""
        return [o for o in self.bt_orders.values() if o.status in (bt.Order.Accepted, bt.Order.Partial)]

    def status_of(self, order: Any) -> int:
        """The status of the tracked copy of ``order`` (``order``'s own once it is not tracked)."""
        core_id = self.core_ids.get(order.ref)
        tracked = self.bt_orders.get(core_id) if core_id is not None else None
        return int((tracked or order).status)


def _created_price(order: Any) -> Decimal | None:
    price = order.created.price
    if price is None or not 0 < price < math.inf:
        return None
    return to_decimal(price)


def refuse_compensation(data: Any) -> None:
    """Raise ConfigError for a data that compensates another (``data.compensate(other)``)."""
    other = getattr(data, "_compensate", None)
    if other is not None:
        raise ConfigError(
            f"data {getattr(data, '_name', '')!r} compensates {getattr(other, '_name', '')!r} "
            "(data.compensate(other)), which FinbotBroker does not support: its orders would trade "
            "without moving the other data's position. Trade the other data directly, or use "
            "bt.brokers.BackBroker for this run (docs/differences.md, 'Not supported')")
