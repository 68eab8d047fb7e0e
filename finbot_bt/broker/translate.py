"""Pure translation between Backtrader objects and core contracts."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import backtrader as bt

from finbot_bt.broker.convert import to_decimal
from finbot_bt.broker.fast_orders import order_param
from finbot_bt.contracts.enums import OrderSide, OrderType, TimeInForce
from finbot_bt.contracts.market import Bar, trusted_bar
from finbot_bt.contracts.orders import Order, trusted_order

MIDNIGHT = time(0, 0)

EXECTYPE_TO_ORDER_TYPE: dict[int, OrderType] = {
    bt.Order.Market: OrderType.MARKET,
    bt.Order.Close: OrderType.MARKET_ON_CLOSE,
    bt.Order.Limit: OrderType.LIMIT,
    bt.Order.Stop: OrderType.STOP,
    bt.Order.StopLimit: OrderType.STOP_LIMIT,
    bt.Order.StopTrail: OrderType.TRAILING_STOP,
    bt.Order.StopTrailLimit: OrderType.TRAILING_STOP_LIMIT,
    bt.Order.Historical: OrderType.MARKET,  # a recorded trade, filled at its own price (fixed_price)
}


def is_daily(data: Any) -> bool:
    """True for feeds with a timeframe of a day or longer."""
    return bool(getattr(data, "_timeframe", bt.TimeFrame.Days) >= bt.TimeFrame.Days)


def core_time(dt: datetime, daily: bool, session_close: time) -> datetime:
    """Map a Backtrader timestamp to simulated time.

    Daily bars (a timeframe of a day or longer) are placed at ``session_close``
    of their date, whatever time of day the feed stamps them with (pandas feeds:
    midnight; Backtrader's CSV feeds: ``sessionend``, 23:59:59.999989), so every
    entry point gives the same simulated times. Intraday timestamps are kept.
    """
    if daily:
        return datetime.combine(dt.date(), session_close)
    return dt


def core_expiry(valid: datetime, daily: bool, bar_time: time, session_close: time) -> datetime:
    """Map a Backtrader order validity to the core's ``expire_at``.

    Backtrader expires an order at the first bar stamped after ``valid``. A daily
    feed stamps its bars at ``bar_time``, the core at ``session_close``, so the
    last daily bar that may still trade is the one dated ``(valid - bar_time)``:
    the order expires once market time passes that bar's close.
    """
    if not daily:
        return valid
    offset = timedelta(hours=bar_time.hour, minutes=bar_time.minute, seconds=bar_time.second,
                       microseconds=bar_time.microsecond)
    return datetime.combine((valid - offset).date(), session_close)


def feed_lines(data: Any) -> tuple[Any, Any, Any, Any, Any, Any]:
    """``data``'s datetime, open, high, low, close and volume lines (fetch once, read each bar)."""
    return data.datetime, data.open, data.high, data.low, data.close, data.volume


def bar_from_data(
    data: Any, timestamp: datetime, daily: bool, session_open: time, previous: datetime | None,
    close_only: bool = False, lines: tuple[Any, ...] | None = None, day_open: datetime | None = None,
) -> Bar | None:
    """Build the core bar of ``data``'s current values, or None if its prices are unusable.

    High and low are widened to contain open and close (some vendors' bars do
    not). Daily bars open at ``session_open`` of their day. With
    ``close_only`` the bar is the close alone (O=H=L=C, no volume): enough for a
    symbol with no open orders, whose bar only marks positions to market.
    ``lines`` are ``feed_lines(data)``, if the caller keeps them; ``day_open`` is
    ``min(timestamp, session_open of its date)`` of a daily bar, if the caller has it.
    """
    # Intraday bars open when the previous bar closed; daily bars at the session's open.
    open_time = previous
    if daily:
        open_time = day_open if day_open is not None else min(timestamp, datetime.combine(timestamp.date(),
                                                                                          session_open))
        if previous is not None and open_time < previous:
            open_time = previous
    session_close = daily or _after_session_end(data, timestamp)
    _, open_line, high_line, low_line, close_line, volume_line = lines or feed_lines(data)
    if close_only:
        close = close_line[0]
        if not 0 < close < math.inf:
            return None
        c = Decimal(repr(float(close)))
        return trusted_bar(c, c, c, c, timestamp, None, open_time, session_close)
    fo, fh, fl, fc = open_line[0], high_line[0], low_line[0], close_line[0]
    # Finite and positive (NaN fails both comparisons).
    if not (0 < fo < math.inf and 0 < fh < math.inf and 0 < fl < math.inf and 0 < fc < math.inf):
        return None
    raw_volume = volume_line[0]
    # Widened on the floats (same order as on the Decimals: the conversion is monotonic).
    o, c = Decimal(repr(float(fo))), Decimal(repr(float(fc)))
    high = Decimal(repr(float(max(fo, fh, fl, fc))))
    low = Decimal(repr(float(min(fo, fh, fl, fc))))
    volume = Decimal(repr(float(raw_volume))) if 0 <= raw_volume < math.inf else None
    # Every invariant Bar checks holds by construction here, so skip re-validating on the hot path.
    return trusted_bar(o, high, low, c, timestamp, volume, open_time, session_close)


def _after_session_end(data: Any, timestamp: datetime) -> bool:
    sessionend = getattr(data.p, "sessionend", None)
    if not isinstance(sessionend, time):
        return False
    return timestamp.time() >= sessionend


def order_from_bt(
    bt_order: Any,
    *,
    order_id: str,
    symbol: str,
    oco_group: str | None,
    parent_id: str | None,
    expire_at: datetime | None,
) -> Order:
    """Translate a genuine ``bt.Order`` into a core :class:`Order` (not yet submitted)."""
    exectype = order_param(bt_order, "exectype")
    order_type = EXECTYPE_TO_ORDER_TYPE.get(exectype)
    if order_type is None:
        raise ValueError(f"unsupported Backtrader exectype {exectype!r}")
    created = bt_order.created
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    if order_type is OrderType.LIMIT:
        limit_price = to_decimal(created.price)
    elif order_type in (OrderType.STOP, OrderType.TRAILING_STOP):
        stop_price = to_decimal(created.price)
    elif order_type in (OrderType.STOP_LIMIT, OrderType.TRAILING_STOP_LIMIT):
        stop_price = to_decimal(created.price)
        limit_price = to_decimal(created.pricelimit) if created.pricelimit is not None else None
    if order_type in (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT):
        trailamount = order_param(bt_order, "trailamount")
        if trailamount:
            trail_amount = to_decimal(trailamount)
        else:
            trail_percent = to_decimal(order_param(bt_order, "trailpercent") or 0.0)
    tif = TimeInForce.GTC
    if expire_at is not None and order_type is not OrderType.MARKET:
        tif = TimeInForce.GTD  # BackBroker never expires market orders
    else:
        expire_at = None
    buy = bt_order.isbuy()
    # Every value below has its contract type by construction (enums from the table,
    # Decimals from to_decimal): build without the constructor's type checks.
    return trusted_order(
        order_id=order_id,
        symbol=symbol,
        side=OrderSide.BUY if buy else OrderSide.SELL,
        order_type=order_type,
        # Backtrader signs sizes by side (sells negative). A buy(size=-5) or sell(size=-5) sent to the
        # broker directly keeps its wrong sign here, so the core refuses it instead of trading 5 the other way.
        quantity=_quantity(created.size if buy else -created.size),
        limit_price=limit_price,
        stop_price=stop_price,
        trail_amount=trail_amount,
        trail_percent=trail_percent,
        time_in_force=tif,
        expire_at=expire_at,
        oco_group=oco_group,
        parent_id=parent_id,
    )


def _quantity(size: Any) -> Decimal:
    # One spelling per amount: a whole float size (20.0, e.g. close() of a position a resumed run
    # rebuilt as a float) is the same quantity as the int 20, in the journal too.
    if isinstance(size, float) and size.is_integer():
        return Decimal(int(size))
    return to_decimal(size)
