"""The event log as pandas DataFrames: orders, fills, rejections and equity.

Built from core events only. This is an output boundary like the adapter's:
Decimals become float columns here, for analysis and plotting; the events
themselves stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import pandas as pd

from finbot_bt.broker.event_log import (
    ACCEPTED,
    CANCELLED,
    EXPIRED,
    FILLED,
    REJECTED,
    SUBMITTED,
    EventLog,
    Record,
    positions,
)
from finbot_bt.contracts.events import (
    ExecutionEvent,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)

ORDER_COLUMNS = ["order_id", "symbol", "side", "order_type", "quantity", "limit_price", "stop_price",
                 "time_in_force", "status", "filled_quantity", "avg_fill_price", "submitted_at",
                 "accepted_at", "finished_at", "rejection_reason"]
FILL_COLUMNS = ["timestamp", "reported_at", "order_id", "symbol", "side", "order_type", "quantity", "price",
                "requested_price", "slippage", "slippage_cost", "commission", "liquidity", "is_partial",
                "realized_pnl", "position_quantity", "latency_seconds"]
REJECTION_COLUMNS = ["timestamp", "order_id", "symbol", "side", "order_type", "quantity", "reason", "message"]
EQUITY_COLUMNS = ["timestamp", "cash", "value"]


def _num(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def orders_frame(events: Iterable[ExecutionEvent]) -> pd.DataFrame:
    """One row per order with its final state (the last event seen for it)."""
    records = events.records_of(*_ORDER_KINDS) if isinstance(events, EventLog) else None
    if records is not None:
        return _orders_from_records(records)
    last: dict[str, OrderEvent] = {}
    finished: dict[str, datetime] = {}
    for event in events:
        if isinstance(event, OrderEvent):
            last[event.order_id] = event
            if isinstance(event, (OrderCancelled, OrderExpired, OrderRejected)) or (
                isinstance(event, OrderFilled) and not event.is_partial
            ):
                finished[event.order_id] = event.timestamp
    rows = []
    for order_id, event in last.items():
        o = event.order
        rows.append([order_id, o.symbol, o.side.value, o.order_type.value, _num(o.quantity),
                     _num(o.limit_price), _num(o.stop_price), o.time_in_force.value, o.status.value,
                     _num(o.filled_quantity), _num(o.avg_fill_price), o.submitted_at, o.accepted_at,
                     finished.get(order_id), o.rejection_reason.value if o.rejection_reason else None])
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def fills_frame(events: Iterable[ExecutionEvent]) -> pd.DataFrame:
    """One row per fill: requested vs filled price, slippage, commission, latency."""
    records = events.records_of(FILLED) if isinstance(events, EventLog) else None
    if records is not None:
        return _fills_from_records(records)
    rows = []
    for event in events:
        if not isinstance(event, OrderFilled):
            continue
        o, ex = event.order, event.execution
        # Latency legs only: submission (submitted -> accepted) plus fill report (fill -> report).
        latency = (event.timestamp - ex.timestamp).total_seconds()
        if o.submitted_at is not None and o.accepted_at is not None:
            latency += (o.accepted_at - o.submitted_at).total_seconds()
        rows.append([ex.timestamp, event.timestamp, o.order_id, o.symbol, o.side.value, o.order_type.value,
                     float(ex.quantity), float(ex.price), float(event.requested_price), float(ex.slippage),
                     float(ex.slippage * ex.quantity), float(ex.commission), ex.liquidity.value,
                     event.is_partial, float(event.realized_pnl), float(event.position_quantity), latency])
    return pd.DataFrame(rows, columns=FILL_COLUMNS)


# The frames read straight from the log's records (the same values, without rebuilding the events).
_ORDER_KINDS = (SUBMITTED, ACCEPTED, EXPIRED, REJECTED, FILLED, CANCELLED)
_ORDER_FIELDS = ("order_id", "symbol", "side", "order_type", "quantity", "limit_price", "stop_price", "time_in_force",
                 "status", "filled_quantity", "avg_fill_price", "submitted_at", "accepted_at", "rejection_reason")


def _orders_from_records(records: Iterable[Record]) -> pd.DataFrame:
    at = {kind: [positions(kind)[f"order.{name}"] for name in _ORDER_FIELDS] for kind in _ORDER_KINDS}
    last: dict[str, Record] = {}
    finished: dict[str, datetime] = {}
    for r in records:
        kind = r[0]
        i = at[kind]
        order_id = r[i[0]]
        last[order_id] = r
        if kind in (CANCELLED, EXPIRED, REJECTED) or (kind == FILLED and r[i[4]] - r[i[9]] <= 0):
            finished[order_id] = r[1]
    rows = []
    for order_id, r in last.items():
        (_, symbol, side, order_type, quantity, limit, stop, tif, status, filled, avg, submitted, accepted,
         reason) = (r[i] for i in at[r[0]])
        rows.append([order_id, symbol, side.value, order_type.value, _num(quantity), _num(limit), _num(stop),
                     tif.value, status.value, _num(filled), _num(avg), submitted, accepted, finished.get(order_id),
                     reason.value if reason else None])
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def _fills_from_records(records: Iterable[Record]) -> pd.DataFrame:
    names = ("execution.timestamp", "timestamp", "order.order_id", "order.symbol", "order.side", "order.order_type",
             "execution.quantity", "execution.price", "requested_price", "execution.slippage", "execution.commission",
             "execution.liquidity", "order.quantity", "order.filled_quantity", "realized_pnl", "position_quantity",
             "order.submitted_at", "order.accepted_at")
    at = [positions(FILLED)[name] for name in names]
    rows = []
    for r in records:
        (executed_at, reported_at, order_id, symbol, side, order_type, quantity, price, requested, slippage,
         commission, liquidity, ordered, filled, pnl, position, submitted, accepted) = (r[i] for i in at)
        latency = (reported_at - executed_at).total_seconds()
        if submitted is not None and accepted is not None:
            latency += (accepted - submitted).total_seconds()
        rows.append([executed_at, reported_at, order_id, symbol, side.value, order_type.value, float(quantity),
                     float(price), float(requested), float(slippage), float(slippage * quantity), float(commission),
                     liquidity.value, ordered - filled > 0, float(pnl), float(position), latency])
    return pd.DataFrame(rows, columns=FILL_COLUMNS)


def rejections_frame(events: Iterable[ExecutionEvent]) -> pd.DataFrame:
    """One row per rejected order with its reason code and message."""
    rows = []
    if isinstance(events, EventLog):
        events = events.of_type(OrderRejected)
    for event in events:
        if isinstance(event, OrderRejected):
            o = event.order
            rows.append([event.timestamp, o.order_id, o.symbol, o.side.value, o.order_type.value,
                         _num(o.quantity), event.reason.value, event.message])
    return pd.DataFrame(rows, columns=REJECTION_COLUMNS)


class EventFrames:
    """FinbotBroker's frames of its event log (``events``) and equity curve (``equity_curve``); a mixin."""

    events: EventLog
    equity_curve: list[tuple[datetime, float, float]]

    def orders_frame(self) -> pd.DataFrame:
        """Every order of the run with its final state (pandas DataFrame)."""
        return orders_frame(self.events)

    def fills_frame(self) -> pd.DataFrame:
        """Every fill: requested vs filled price, slippage, commission, latency (DataFrame)."""
        return fills_frame(self.events)

    def rejections_frame(self) -> pd.DataFrame:
        """Every rejection with its reason code and message (DataFrame)."""
        return rejections_frame(self.events)

    def equity_frame(self) -> pd.DataFrame:
        """Cash and value at each bar (DataFrame indexed by simulated time)."""
        return equity_frame(self.equity_curve)


def equity_frame(curve: Sequence[tuple[datetime, float, float]]) -> pd.DataFrame:
    """Cash and value per bar, indexed by simulated time."""
    return pd.DataFrame(list(curve), columns=EQUITY_COLUMNS).set_index("timestamp")


def event_counts(events: Iterable[ExecutionEvent]) -> dict[str, int]:
    """How many events of each kind."""
    if isinstance(events, EventLog):
        return events.counts()
    counts: dict[str, int] = {}
    for event in events:
        name = type(event).__name__
        counts[name] = counts.get(name, 0) + 1
    return counts


__all__ = ["EventFrames", "equity_frame", "event_counts", "fills_frame", "orders_frame", "rejections_frame"]
