"""Fill rules: where an order trades against one OHLC bar.

The rules copy Backtrader's BackBroker (``_try_exec_*``) for gaps and
touches, so that a default simulator gives BackBroker's prices:

========================  ====================================================
order type                rule (buy; sells mirror it)
========================  ====================================================
market                    the bar's open
market on close           the close of the first session-closing bar
limit                     open <= limit: the open; low <= limit: the limit
stop / trailing stop      open >= stop: the open; high >= stop: the stop
stop limit / trailing     gap through the stop: triggered, limit rules on the
stop limit                same bar; touched inside the bar: triggered, and on a
                          down bar (open > close) fill at the stop if
                          limit >= stop, else at the limit if limit >= close; on
                          an up bar fill at the stop only if limit >= stop.
                          Once triggered it is a limit order.
========================  ====================================================

Trailing stops ratchet after each bar's check, toward the close only.
A limit order never fills worse than its limit. The result is a
:class:`Match`: the frictionless price plus what slippage may do to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderSide, OrderType
from finbot_bt.contracts.market import Bar

ZERO = Decimal(0)


ONE = Decimal(1)


@dataclass(slots=True)
class Match:
    """Where an order trades on a bar.

    ``price`` is the frictionless fill price; ``bound`` the worst price that
    slippage may reach (the bar's extreme, or the limit); ``at_open`` marks
    fills at the open; ``limit`` marks limit-type fills; ``slippable`` is false
    for intrabar fills at a limit price. Treated as immutable; not declared frozen
    because a frozen dataclass's constructor costs about three times as much.
    """

    price: Decimal
    bound: Decimal
    at_open: bool
    limit: bool
    slippable: bool = True
    fill_time: datetime | None = None


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class MatchState:
    """Per-order mutable matching state kept by the simulator."""

    __slots__ = (
        "limit",
        "limit_offset",
        "order_type",
        "side",
        "stop",
        "trail_amount",
        "trail_percent",
        "triggered",
    )

    def __init__(
        self,
        *,
        side: OrderSide,
        order_type: OrderType,
        stop: Decimal | None,
        limit: Decimal | None,
        trail_amount: Decimal | None = None,
        trail_percent: Decimal | None = None,
        triggered: bool = False,
    ) -> None:
        self.side = side
        self.order_type = order_type
        self.stop = stop
        self.limit = limit
        self.triggered = triggered
        self.trail_amount = trail_amount
        self.trail_percent = trail_percent
        self.limit_offset = (
            stop - limit
            if order_type is OrderType.TRAILING_STOP_LIMIT and stop is not None and limit is not None
            else None
        )

    def trail_adjust(self, close: Decimal) -> bool:
        """Ratchet a trailing stop toward ``close``; return True if it moved."""
        if self.trail_amount is not None and self.trail_amount != ZERO:
            distance = self.trail_amount
        elif self.trail_percent is not None:
            distance = close * self.trail_percent
        else:
            distance = Decimal(0)
        if self.side is OrderSide.BUY:
            candidate = close + distance
            moved = self.stop is None or candidate < self.stop
        else:
            candidate = close - distance
            moved = self.stop is None or candidate > self.stop
        if moved:
            self.stop = candidate
            if self.limit_offset is not None:
                self.limit = candidate - self.limit_offset
        return moved


def match_limit(side: OrderSide, limit: Decimal, bar: Bar) -> Match | None:
    """Limit rule: a gap in your favour fills at the open, a touch at the limit."""
    if side is OrderSide.BUY:
        if limit >= bar.open:
            return Match(bar.open, min(bar.high, limit), True, True)
        if limit >= bar.low:
            return Match(limit, limit, False, True, slippable=False)
        return None
    if limit <= bar.open:
        # BackBroker caps a gapped sell limit at the limit price itself.
        return Match(bar.open, limit, True, True)
    if limit <= bar.high:
        return Match(limit, limit, False, True, slippable=False)
    return None


def match_stop(side: OrderSide, stop: Decimal, bar: Bar) -> Match | None:
    """Stop rule: a gap through the stop fills at the open, a touch at the stop."""
    if side is OrderSide.BUY:
        if bar.open >= stop:
            return Match(bar.open, bar.high, True, False)
        if bar.high >= stop:
            return Match(stop, bar.high, False, False)
        return None
    if bar.open <= stop:
        return Match(bar.open, bar.low, True, False)
    if bar.low <= stop:
        return Match(stop, bar.low, False, False)
    return None


def match_stop_limit(state: MatchState, bar: Bar) -> Match | None:
    """Stop-limit rule (see the module table); marks the state triggered."""
    stop, limit = state.stop, state.limit
    assert stop is not None and limit is not None  # guaranteed by validation
    if state.side is OrderSide.BUY:
        if bar.open >= stop:
            state.triggered = True
            return match_limit(state.side, limit, bar)
        if bar.high >= stop:
            state.triggered = True
            if bar.open > bar.close:
                if limit >= stop:
                    return Match(stop, min(bar.high, limit), False, True)
                if limit >= bar.close:
                    return Match(limit, limit, False, True, slippable=False)
            elif limit >= stop:
                return Match(stop, min(bar.high, limit), False, True)
        return None
    if bar.open <= stop:
        state.triggered = True
        return match_limit(state.side, limit, bar)
    if bar.low <= stop:
        state.triggered = True
        if bar.open <= bar.close:
            if limit <= stop:
                return Match(stop, max(bar.low, limit), False, True)
            if limit <= bar.close:
                return Match(limit, limit, False, True, slippable=False)
        elif limit <= stop:
            return Match(stop, max(bar.low, limit), False, True)
    return None


def match_order(state: MatchState, bar: Bar) -> Match | None:
    """Apply the fill rule of the order's type to ``bar`` (mutates trigger/trail state)."""
    kind = state.order_type
    if kind is OrderType.MARKET:
        return Match(bar.open, bar.high if state.side is OrderSide.BUY else bar.low, True, False)
    if kind is OrderType.LIMIT:
        assert state.limit is not None
        return match_limit(state.side, state.limit, bar)
    if kind is OrderType.MARKET_ON_CLOSE:
        if not bar.session_close:
            return None
        return Match(bar.close, bar.close, False, False, slippable=False)
    if kind in (OrderType.STOP_LIMIT, OrderType.TRAILING_STOP_LIMIT) and state.triggered:
        assert state.limit is not None
        return match_limit(state.side, state.limit, bar)
    if kind is OrderType.TRAILING_STOP and state.stop is None:
        return None  # no close known when it arrived: the first bar's close sets the stop
    if kind in (OrderType.STOP, OrderType.TRAILING_STOP):
        assert state.stop is not None
        return match_stop(state.side, state.stop, bar)
    return match_stop_limit(state, bar)
