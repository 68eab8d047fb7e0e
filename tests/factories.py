"""Factories for the core test suite: orders, bars, simulators, bar sequences.

Plain functions, no fixtures. Prices and quantities are given as strings (or
ints) and turned into exact Decimals here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from finbot_bt.contracts import (
    Bar,
    ExecutionEvent,
    LatencyConfig,
    Order,
    OrderEvent,
    OrderSide,
    OrderType,
    TimeInForce,
)
from finbot_bt.execution import ExecutionSimulator

Number = str | int | Decimal

T0 = datetime(2024, 1, 2, 16, 0)
"""Close time of the first daily bar used by most tests."""

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def dec(value: Number | None) -> Decimal | None:
    """Exact Decimal from str/int (None passes through)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(value)


def d(value: Number) -> Decimal:
    """Exact Decimal from str/int."""
    return value if isinstance(value, Decimal) else Decimal(value)


def ms(value: int) -> timedelta:
    """Milliseconds as a timedelta."""
    return timedelta(milliseconds=value)


def latency(
    submission: int = 0, fill_min: int = 0, fill_max: int | None = None, cancel: int = 0
) -> LatencyConfig:
    """Custom latency in milliseconds (fill_max defaults to fill_min)."""
    return LatencyConfig(
        submission_latency=ms(submission),
        fill_latency_min=ms(fill_min),
        fill_latency_max=ms(fill_min if fill_max is None else fill_max),
        cancel_latency=ms(cancel),
    )


_ORDER_COUNTER = [0]


def order(
    side: str = "buy",
    quantity: Number = 10,
    order_type: str = "market",
    *,
    symbol: str = "SPY",
    order_id: str | None = None,
    limit: Number | None = None,
    stop: Number | None = None,
    trail_amount: Number | None = None,
    trail_percent: Number | None = None,
    tif: str = "gtc",
    expire_at: datetime | None = None,
    oco: str | None = None,
    parent: str | None = None,
) -> Order:
    """A NEW order; ``order_id`` defaults to a fresh ``o-<n>``."""
    if order_id is None:
        _ORDER_COUNTER[0] += 1
        order_id = f"o-{_ORDER_COUNTER[0]}"
    return Order(
        order_id=order_id,
        symbol=symbol,
        side=OrderSide(side),
        order_type=OrderType(order_type),
        quantity=d(quantity),
        limit_price=dec(limit),
        stop_price=dec(stop),
        trail_amount=dec(trail_amount),
        trail_percent=dec(trail_percent),
        time_in_force=TimeInForce(tif),
        expire_at=expire_at,
        oco_group=oco,
        parent_id=parent,
    )


def bar(
    o: Number,
    h: Number,
    low: Number,
    c: Number,
    timestamp: datetime = T0,
    *,
    volume: Number | None = None,
    open_time: datetime | None = None,
    session_close: bool = True,
) -> Bar:
    """A bar from string prices: ``bar("100", "101", "99", "100", ts)``."""
    return Bar(
        open=d(o),
        high=d(h),
        low=d(low),
        close=d(c),
        timestamp=timestamp,
        volume=dec(volume),
        open_time=open_time,
        session_close=session_close,
    )


def flat_bar(price: Number, timestamp: datetime = T0, *, volume: Number | None = None) -> Bar:
    """O=H=L=C=price."""
    return bar(price, price, price, price, timestamp, volume=volume)


SIGNAL_BAR = ("100", "101", "99", "100")
"""The signal bar of backtrader-semantics.md 2.4: O100 H101 L99 C100."""


def simulator(cash: Number = 10000, **kwargs: Any) -> ExecutionSimulator:
    """A simulator with ``cash`` (default 10000) and any keyword options."""
    return ExecutionSimulator(d(cash), **kwargs)


def daily(index: int) -> datetime:
    """Close time of the ``index``-th daily bar (0 is T0)."""
    return T0 + index * DAY


def run_bars(
    sim: ExecutionSimulator,
    bars: Iterable[Bar],
    symbol: str = "SPY",
) -> list[ExecutionEvent]:
    """Feed each bar (stamped at its own timestamp) and return every event produced."""
    events: list[ExecutionEvent] = []
    for item in bars:
        events.extend(sim.process_market_data(item.timestamp, {symbol: item}))
    return events


def daily_bars(*ohlc: Sequence[Number], start: int = 0, volume: Number | None = None) -> list[Bar]:
    """Daily bars from (o, h, l, c) tuples, the first stamped ``daily(start)``."""
    return [bar(*values, daily(start + i), volume=volume) for i, values in enumerate(ohlc)]


def record(sim: ExecutionSimulator) -> list[ExecutionEvent]:
    """Attach a listener and return the list it appends every event to."""
    events: list[ExecutionEvent] = []
    sim.add_listener(events.append)
    return events


def kinds(events: Iterable[ExecutionEvent], order_id: str | None = None) -> list[str]:
    """Event class names, optionally only those about ``order_id``."""
    return [
        type(e).__name__
        for e in events
        if order_id is None or getattr(e, "order_id", None) == order_id
    ]


def of(events: Iterable[ExecutionEvent], event_type: type, order_id: str | None = None) -> list[Any]:
    """Events of one type, optionally about one order."""
    return [
        e for e in events
        if isinstance(e, event_type) and (order_id is None or getattr(e, "order_id", None) == order_id)
    ]


def order_events(events: Iterable[ExecutionEvent], order_id: str) -> list[OrderEvent]:
    """Order events about ``order_id``."""
    return [e for e in events if isinstance(e, OrderEvent) and e.order_id == order_id]


def primed(cash: Number = 10000, ohlc: Sequence[Number] = SIGNAL_BAR, **kwargs: Any) -> ExecutionSimulator:
    """A simulator that has already seen the signal bar at T0."""
    sim = simulator(cash, **kwargs)
    sim.process_market_data(T0, {"SPY": bar(*ohlc, T0)})
    return sim
