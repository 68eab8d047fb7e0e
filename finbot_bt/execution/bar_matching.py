"""Matching working orders against bars (private to the execution layer).

``BarMatcher`` runs BackBroker's single pass over the pending orders: on a
group of bars that opened at the same time, every working order of their
symbols that was live at the venue by the open is tried once, across symbols
in submission order (expiry first, then its fill rule). The rules per order
type are :func:`~finbot_bt.execution.matching.match_order`'s; this module adds
the ones that need more than the bar: recorded trades (``fixed_price``),
cheat-on-close market orders, market-on-close orders when the session closed
between bars, Backtrader's Close rule, the volume cap (shared by the orders of
one symbol on one bar), FOK/IOC and the slippage model. A fill goes to the
:class:`~finbot_bt.execution.lifecycle.OrderLifecycle`. Only orders a bar can
reach are visited (:class:`~finbot_bt.execution.resting.RestingIndex`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce
from finbot_bt.contracts.market import Bar
from finbot_bt.execution.fills import FillConfig
from finbot_bt.execution.lifecycle import OrderLifecycle
from finbot_bt.execution.market_view import MarketView
from finbot_bt.execution.matching import Match, match_order
from finbot_bt.execution.order_book import OrderBook
from finbot_bt.execution.resting import RestingIndex
from finbot_bt.execution.slippage import SlippageModel
from finbot_bt.execution.venue import Venue
from finbot_bt.execution.working import VenueFill, WorkingOrder

ZERO = Decimal(0)
_TRAILING = (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT)
_ONE_BAR = (TimeInForce.IOC, TimeInForce.FOK)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class BarMatcher:
    """Tries working orders on bars and expires them.

    ``stale`` names the symbols whose bar of the current update is their last
    one passed again (``process_market_data``'s ``repeated``).
    """

    __slots__ = ("book", "fill", "lifecycle", "market", "slippage", "stale", "venue")

    def __init__(self, book: OrderBook, market: MarketView, venue: Venue, lifecycle: OrderLifecycle,
                 fill: FillConfig, slippage: SlippageModel) -> None:
        self.book = book
        self.market = market
        self.venue = venue
        self.lifecycle = lifecycle
        self.fill = fill
        self.slippage = slippage
        self.stale: set[str] = set()

    def run(self, timestamp: datetime, bars: dict[str, Bar], repeated: Collection[str]) -> None:
        """One market update at ``timestamp``: per open time, deliver the legs due by the open and
        match the bars that opened then (with instant latency, every bar in one pass); deliver the
        rest up to ``timestamp``; expire."""
        lifecycle, venue = self.lifecycle, self.venue
        lifecycle.activated.clear()
        stale = self.stale
        stale.clear()
        if repeated:
            stale.update(symbol for symbol in repeated if symbol in bars)
        if not self.book.working and not venue.queue:
            return  # no order to match or expire, no leg to deliver
        open_time = self.market.open_time
        open_times = {symbol: open_time(symbol, bar) for symbol, bar in bars.items()}
        if venue.instant:
            # Nothing travels: one pass over every bar in submission order, as BackBroker
            # walks its pending queue once a cycle whatever the feeds' times.
            self.match_bars(bars, open_times)
        else:
            groups: dict[datetime, dict[str, Bar]] = {}
            for symbol, bar in bars.items():
                groups.setdefault(open_times[symbol], {})[symbol] = bar
            for opened in sorted(groups):
                venue.drain(opened, lifecycle)
                self.match_bars(groups[opened], open_times)
        venue.drain(timestamp, lifecycle)
        self.expire_all(timestamp, {symbol: bars[symbol].timestamp for symbol in stale})

    def match_bars(self, bars: dict[str, Bar], open_times: Mapping[str, datetime]) -> None:
        """Try every open order on these bars' symbols, in submission order.

        Like BackBroker's single pass over its pending queue: each order is
        checked once (expiry first, then its fill rule), across symbols in
        the order the orders were submitted.
        """
        # Only orders the bar can reach, market-like orders and expired ones can
        # change on this bar (see resting.py); the others are not visited.
        candidates: list[WorkingOrder] = []
        indexes: list[RestingIndex] = []
        for symbol, bar in bars.items():
            index = self.book.resting_index(symbol)
            if index is not None:
                indexes.append(index)
                candidates.extend(index.pop_candidates(bar))
        if len(indexes) > 1:
            candidates.sort(key=_by_sequence)
        lifecycle = self.lifecycle
        lifecycle.in_pass = True
        try:
            self._match_candidates(candidates, bars, open_times)
        finally:
            lifecycle.in_pass = False
            for index in indexes:
                index.refile(candidates)

    def expire_all(self, now: datetime, stale_times: Mapping[str, datetime]) -> None:
        """Expire every order whose ``expire_at`` is before ``now`` (a stale symbol: its bar's time)."""
        # A symbol whose bar was passed again has not moved on: its orders keep their validity
        # until its market time does (Backtrader compares `valid` with the order's own data).
        expired: list[WorkingOrder] = []
        indexes: list[RestingIndex] = []
        book = self.book
        for symbol in list(book.by_symbol):
            index = book.resting_index(symbol)
            if index is not None:
                indexes.append(index)
                expired.extend(index.pop_expired(stale_times.get(symbol, now)))
        expired.sort(key=_by_sequence)
        lifecycle = self.lifecycle
        lifecycle.in_pass = True
        try:
            for working in expired:
                expire_at = working.expire_at
                when = stale_times.get(working.base.symbol, now)
                if (expire_at is not None and when > expire_at and working.terminal is None
                        and working.live_from is not None):
                    lifecycle.terminate(working, OrderStatus.EXPIRED, now, "expired")
        finally:
            lifecycle.in_pass = False
            for index in indexes:
                index.refile([])

    def _match_candidates(self, candidates: list[WorkingOrder], bars: dict[str, Bar],
                          open_times: Mapping[str, datetime]) -> None:
        used: dict[str, Decimal] = {}
        stale = self.stale
        activated = self.lifecycle.activated
        for working in candidates:
            if working.terminal is not None:
                continue
            order = working.base
            bar = bars[order.symbol]
            open_time = open_times[order.symbol]
            expire_at = working.expire_at
            if expire_at is not None and bar.timestamp > expire_at and working.live_from is not None:
                self.lifecycle.terminate(working, OrderStatus.EXPIRED, bar.timestamp, "expired")
                continue
            if order.order_id in activated:
                continue  # activated by its parent's fill in this pass: it can expire, not yet trade
            live_from = working.live_from
            if working.session_end is not None:
                if live_from is None or not working.active:
                    continue  # Backtrader's Close rule decides from the bar's time
            elif order.symbol in stale:
                # The symbol's last bar, passed again (its market had no new bar): like BackBroker,
                # working orders are tried on it again, a market order only under cheat-on-close or
                # if that bar came after it (a rest the volume cap left, as BackBroker fills it again;
                # a part filled means so even when feeds' times map that bar to the order's time).
                if live_from is None or not working.active or (
                        working.match.order_type is OrderType.MARKET and working.fixed_price is None
                        and not self.fill.market_at_last_close and not self.fill.market_on_repeated_bar
                        and bar.timestamp <= live_from and working.venue_filled == ZERO):
                    continue
            elif live_from is None or live_from > open_time or not working.active:
                continue
            used[order.symbol] = self._match_one(working, bar, open_time, used.get(order.symbol, ZERO))

    def _match_one(self, working: WorkingOrder, bar: Bar, open_time: datetime, used: Decimal) -> Decimal:
        order = working.base
        state = working.match
        # A trailing stop-limit stops trailing once triggered (from the next bar on, as BackBroker).
        trails = order.order_type in _TRAILING and not state.triggered
        match = self._find_match(working, bar)
        filled = ZERO
        if match is not None and not match.at_open and match.fill_time is None \
                and working.status is OrderStatus.PENDING_CANCEL \
                and self.venue.cancel_arrives_first(working.order, bar.timestamp):
            # A fill inside the bar happens at the bar's time: a cancel reaching the venue
            # earlier in the bar wins (it is delivered when the queue is drained to the bar's time).
            match = None
        if match is not None:
            remaining = working.venue_remaining
            quantity = remaining
            cap = self.fill.volume_cap
            if cap is not None:
                source = bar
                if match.fill_time is not None and working.session_end is not None:
                    # Backtrader's Close filled at the close noted before: sized on the bar before (ago=-1),
                    # the one before the last for a bar passed again
                    market = self.market
                    before = market.bar_before if order.symbol in self.stale else market.last_bar
                    source = before.get(order.symbol, bar)
                quantity = cap.available(working.order, remaining, match.price, source, used)
            if order.time_in_force is TimeInForce.FOK and quantity < remaining:
                quantity = ZERO
            if quantity > ZERO:
                price: Decimal | None = match.price
                if match.slippable:
                    price = self.slippage.apply(order.side, match.price, match.bound, quantity, bar,
                                                at_open=match.at_open, limit=match.limit)
                    if price is not None and not price > ZERO:
                        price = None  # slipped through zero (allow_outside_bar): no fill on this bar
                if price is not None:
                    used += quantity
                    filled = quantity
                    liquidity = (LiquiditySide.MAKER if not match.at_open and not match.slippable
                                 else LiquiditySide.TAKER)
                    if match.fill_time is not None:
                        fill_time = match.fill_time
                    else:
                        fill_time = open_time if match.at_open else bar.timestamp
                    if working.live_from is not None and fill_time < working.live_from:
                        fill_time = working.live_from  # a bar passed again: the fill happens now
                    self.lifecycle.venue_fill(working, VenueFill(quantity=quantity, price=price,
                                                                 requested_price=match.price, timestamp=fill_time,
                                                                 liquidity=liquidity))
        if working.terminal is None and working.venue_remaining > ZERO:
            if trails and state.trail_adjust(bar.close):
                self.book.update(working, stop_price=state.stop, limit_price=state.limit)
            if order.time_in_force in _ONE_BAR:
                reason = "unfilled remainder of an IOC order" if filled > ZERO else "not fillable at once"
                self.lifecycle.terminate(working, OrderStatus.CANCELLED, bar.timestamp, reason)
        return used

    def _find_match(self, working: WorkingOrder, bar: Bar) -> Match | None:
        kind = working.match.order_type
        symbol = working.base.symbol
        if working.fixed_price is not None:
            price = working.fixed_price
            return Match(price, price, False, False, slippable=False)
        if kind is OrderType.MARKET and self.fill.market_at_last_close:
            # Cheat-on-close: the close the order was placed against (its reference price),
            # else the last close seen before this bar.
            last = working.reference_price
            if last is None:
                last = self.market.last_price.get(symbol)
            if last is not None:
                bound = bar.high if working.base.side is OrderSide.BUY else bar.low
                return Match(last, bound, True, False, fill_time=working.live_from)
        if kind is OrderType.MARKET_ON_CLOSE and working.session_end is not None:
            return _backtrader_close(working, bar)
        if kind is OrderType.MARKET_ON_CLOSE and not bar.session_close:
            previous = self.market.last_bar.get(symbol)
            live_from = working.live_from
            if previous is not None and live_from is not None and bar.timestamp.date() > live_from.date() \
                    and previous.timestamp >= live_from:
                # The session closed between bars: fill at the last close of the order's day.
                return Match(previous.close, previous.close, False, False, slippable=False,
                             fill_time=previous.timestamp)
        return match_order(working.match, bar)


def _backtrader_close(working: WorkingOrder, bar: Bar) -> Match | None:
    # Backtrader's Close order: the first bar at or after the session end fills it; if the
    # order was tried on a bar before, at that bar's close ("annotated"), else at this close.
    ts = bar.timestamp
    close_after, session_end = working.close_after, working.session_end
    assert close_after is not None and session_end is not None
    if ts > close_after and ts >= session_end:
        if working.annotated is not None and working.annotated_at is not None and ts > session_end:
            return Match(working.annotated, working.annotated, False, False, slippable=False,
                         fill_time=working.annotated_at)
        return Match(bar.close, bar.close, False, False, slippable=False)
    working.annotated, working.annotated_at = bar.close, ts
    return None


def _by_sequence(working: WorkingOrder) -> int:
    return working.sequence
