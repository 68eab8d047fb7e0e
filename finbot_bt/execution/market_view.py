"""What the simulator remembers of the market (private to the execution layer).

``MarketView`` keeps the last bar (and the one before it) and the last close of every symbol seen,
turns the prices passed to ``process_market_data`` into bars (checking them),
says when a bar opened (``Bar.open_time``, else the previous bar's timestamp of
its symbol) and values an order before it trades (:meth:`MarketView.reference_price`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderType
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.errors import MarketDataError

_STOPS = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class MarketView:
    """Last bar, the bar before it, and last close per symbol."""

    __slots__ = ("bar_before", "last_bar", "last_price")

    def __init__(self) -> None:
        self.last_bar: dict[str, Bar] = {}
        self.bar_before: dict[str, Bar] = {}  # each symbol's bar before its last one
        self.last_price: dict[str, Decimal] = {}

    def coerce_bars(self, timestamp: datetime, prices: Mapping[str, Bar | Decimal]) -> dict[str, Bar]:
        """``prices`` as bars; a plain Decimal is a one-price bar at ``timestamp``.

        Raises MarketDataError for a bar stamped after ``timestamp`` or a price
        that is not a positive finite Decimal.
        """
        if not isinstance(timestamp, datetime):
            raise MarketDataError(f"timestamp must be a datetime, got {timestamp!r}")
        bars: dict[str, Bar] = {}
        for symbol, value in prices.items():
            if isinstance(value, Bar):
                if value.timestamp > timestamp:
                    raise MarketDataError(
                        f"bar for {symbol!r} is stamped {value.timestamp} after the update time {timestamp}"
                    )
                bars[symbol] = value
            elif isinstance(value, Decimal):
                if not value.is_finite() or value <= 0:
                    raise MarketDataError(f"price for {symbol!r} must be a positive finite Decimal, got {value}")
                bars[symbol] = Bar.from_price(value, timestamp)
            else:
                raise MarketDataError(
                    f"price for {symbol!r} must be a Bar or a Decimal, got {type(value).__name__}"
                )
        return bars

    def record(self, bars: Mapping[str, Bar], stale: Collection[str]) -> None:
        """Remember ``bars`` as each symbol's last; a ``stale`` symbol's bar (its last one passed
        again) does not push its last bar back to the bar before."""
        last_bar, bar_before, last_price = self.last_bar, self.bar_before, self.last_price
        for symbol, bar in bars.items():
            if symbol not in stale and symbol in last_bar:
                bar_before[symbol] = last_bar[symbol]
            last_bar[symbol] = bar
            last_price[symbol] = bar.close

    def open_time(self, symbol: str, bar: Bar) -> datetime:
        """When ``bar`` opened: its ``open_time``, else the previous bar's timestamp of ``symbol``."""
        if bar.open_time is not None:
            return bar.open_time
        last = self.last_bar.get(symbol)
        return last.timestamp if last is not None else bar.timestamp

    def reference_price(self, order: Order) -> Decimal | None:
        """Price used to value an order before it trades: limit, stop, else last close."""
        if order.order_type is OrderType.LIMIT:
            return order.limit_price
        if order.order_type in _STOPS and order.stop_price is not None:
            return order.stop_price
        return self.last_price.get(order.symbol)
