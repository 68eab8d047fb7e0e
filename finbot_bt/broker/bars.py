"""Feeds to core bars: what the simulator sees of each Backtrader data, cycle by cycle.

Each broker cycle, every feed that has a new bar gives a core ``Bar`` stamped in
simulated time (daily bars at the session close, see the README's
"Timestamps"); a feed without a new bar that still has working orders gives
its last bar again, as BackBroker tries every order every cycle. A feed declared
daily whose bars are less than a day apart is timed as intraday (with a warning).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol

from finbot_bt.broker.symbols import SymbolTable
from finbot_bt.broker.translate import MIDNIGHT, bar_from_data, core_time, feed_lines, is_daily
from finbot_bt.contracts.latency import LatencyConfig
from finbot_bt.contracts.market import Bar
from finbot_bt.execution.simulator import ExecutionSimulator

_ONE_DAY = 1.0 - 1e-6  # Backtrader date numbers count days


class _Host(Protocol):
    p: Any
    sim: ExecutionSimulator


class BarFeeder:
    """Turns the feeds' new bars into core bars and passes them to the simulator.

    ``now`` is the simulated time of the last cycle (None before the first bar);
    ``last_ts`` and ``last_len`` hold, per data, the simulated time and the
    length of the last bar seen; ``stamps`` the Backtrader datetimes of this
    cycle's bars (see :meth:`stamp`).
    """

    __slots__ = ("_host", "_instant", "_lines", "_symbols", "feed_table", "intraday", "last_len", "last_num",
                 "last_ts", "now", "stamps")

    def __init__(self, host: _Host, symbols: SymbolTable, latency: LatencyConfig) -> None:
        self._host = host
        self._symbols = symbols
        self._instant = latency.is_instant
        self._lines: dict[Any, tuple[Any, ...]] = {}
        self.stamps: dict[tuple[float, Any], datetime] = {}
        self.last_len: dict[Any, int] = {}
        self.last_ts: dict[Any, datetime] = {}
        self.now: datetime | None = None
        self.feed_table: list[tuple[Any, str, bool, tuple[Any, ...]]] = []
        self.intraday: set[Any] = set()
        self.last_num: dict[Any, float] = {}

    def feeds(self) -> list[Any]:
        """Cerebro's datas, then any other data an order was placed on."""
        cerebro = getattr(self._host, "cerebro", None)
        datas = list(cerebro.datas) if cerebro is not None else []
        known = {id(data) for data in datas}
        for data in self._symbols.symbols:
            # ``in`` compares Backtrader datas with ==, a line operation (their current datetimes):
            # look for the object itself first, and only then as ``in`` does.
            if id(data) not in known and data not in datas:
                datas.append(data)
                known.add(id(data))
        return datas

    def lines(self, data: Any) -> tuple[Any, ...]:
        """``data``'s datetime, open, high, low, close and volume lines (looked up once per data)."""
        lines = self._lines.get(data)
        if lines is None:
            lines = self._lines[data] = feed_lines(data)
        return lines

    def stamp(self, line: Any) -> datetime:
        """``line.datetime(0)`` of a feed's datetime line, converted once per bar number and timezone."""
        key = (line[0], line._tz)
        stamp = self.stamps.get(key)
        if stamp is None:
            stamp = self.stamps[key] = line.datetime(0)
        return stamp

    def current_time(self, data: Any) -> datetime | None:
        return self.last_ts.get(data)

    def is_daily(self, data: Any) -> bool:
        return is_daily(data) and data not in self.intraday

    def time_new_bars(self) -> dict[Any, bool]:
        """Whether each daily-declared feed with a new bar is daily, judged once per bar (pass it to :meth:`feed`)."""
        last_len = self.last_len
        return {data: self._bars_are_daily(data, self.lines(data)[0]) for data in self.feeds()
                if len(data) > last_len.get(data, 0) and self.is_daily(data)}

    def feed(self, timed: Mapping[Any, bool]) -> bool:
        """Pass this cycle's bars to the simulator; False when no feed has had a bar yet.

        ``timed`` holds the feeds :meth:`time_new_bars` already judged this cycle.
        """
        host, symbols = self._host, self._symbols
        bars: dict[str, Bar] = {}
        now = self.now
        table = self.feed_table
        if len(table) != len(symbols.symbols) or not table:
            table = self.feed_table = [(data, symbols.symbol(data), self.is_daily(data), self.lines(data))
                                       for data in self.feeds()]
        last_len, last_ts, sim = self.last_len, self.last_ts, host.sim
        session_open, session_close = host.p.session_open, host.p.session_close
        needs_market_data, needs_full_bar = sim.needs_market_data, sim.needs_full_bar
        last_num = self.last_num
        day_of_open: datetime | None = None  # the timestamp whose session open day_open is
        day_open = datetime.min
        close_day: int | None = None  # the day number whose session close close_ts is
        close_ts = datetime.min
        # Feeds usually share their timestamps: convert each (number, timezone) once a bar.
        stamps = self.stamps
        stamps.clear()
        # Feeds with open orders are passed every cycle, their last bar again if they have no new
        # one: BackBroker tries every order every cycle, against its data's current (old) bar.
        idle: list[tuple[Any, str, bool, tuple[Any, ...]]] | None = None
        # BackBroker tries an order on every bar of its data that arrives in a later cycle, even one
        # that opened before the order (feeds on other calendars moved the clock past its open).
        floor = self.now if self._instant else None
        for entry in table:
            data, symbol, daily, lines = entry
            line = lines[0]
            length = len(line)  # len(data): a feed's length is its datetime line's
            if length <= last_len.get(data, 0):
                if length:
                    if idle is None:
                        idle = []
                    idle.append(entry)
                continue
            last_len[data] = length
            if daily:
                num = line[0]
                if timed and data in timed:
                    daily = timed[data]
                else:
                    # _bars_are_daily's usual case, inline: the bar is a day or more after the last one.
                    previous_num = last_num.get(data)
                    if previous_num is not None and num - previous_num >= _ONE_DAY:
                        last_num[data] = num
                    else:
                        daily = self._bars_are_daily(data, line)
            if daily:
                # core_time(line.datetime(0), True, session_close): the session close of the bar's date.
                # Without a timezone and well before midnight that date is the day number's (num2date
                # only moves it when rounding carries 23:59:59.99999x over): no datetime conversion.
                day = int(num)
                if num - day < 0.99 and line._tz is None:
                    if day != close_day:
                        close_day, close_ts = day, datetime.combine(date.fromordinal(day), session_close)
                    ts = close_ts
                else:
                    ts = core_time(self.stamp(line), True, session_close)
            else:
                ts = self.stamp(line)
            previous = last_ts.get(data)
            last_ts[data] = ts
            if now is None or ts > now:
                now = ts
            if not needs_market_data(symbol):
                continue  # nothing to match, value or watch: skip building the bar
            if previous is not None and floor is not None and previous < floor <= ts:
                previous = floor
            if daily and ts is not day_of_open:  # feeds on one calendar share their session open
                day_of_open, day_open = ts, min(ts, datetime.combine(ts.date(), session_open))
            bar = bar_from_data(data, ts, daily, session_open, previous, not needs_full_bar(symbol), lines,
                                day_open if daily else None)
            if bar is not None:
                bars[symbol] = bar
        repeated: list[str] = []
        for data, symbol, daily, lines in idle or ():
            previous_ts = last_ts.get(data)
            if previous_ts is not None and needs_full_bar(symbol):
                bar = bar_from_data(data, previous_ts, daily, session_open, None, False, lines)
                if bar is not None:
                    bars[symbol] = bar
                    repeated.append(symbol)
        if now is None:
            return False
        clock = sim.clock
        if clock is not None and now < clock:
            now = clock  # an order placed in next_open() already moved the clock to a later open
        self.now = now
        # A cycle without bars (no feed has orders or a position) only moves an idle simulator's clock.
        if bars or not sim.advance_idle(now):
            sim.step_market_data(now, bars, repeated=repeated)
        return True

    def _bars_are_daily(self, data: Any, line: Any) -> bool:
        # Timing comes from the bars' own timestamps: a feed declared daily (often just
        # PandasData's default) whose bars are less than a day apart is timed as intraday.
        num = line[0]
        previous = self.last_num.get(data)
        self.last_num[data] = num
        if previous is None:
            try:
                gap = line[1] - num  # preloaded data: look at the next bar
            except IndexError:
                # Cannot tell yet (no preload): a daily bar is placed at the session close only when that
                # does not move it later; a midnight or mid-session stamp stays where it is.
                stamped = line.datetime(0).time()
                return bool(stamped != MIDNIGHT and stamped >= self._host.p.session_close)
        else:
            gap = num - previous
        if gap >= _ONE_DAY:
            return True
        self.intraday.add(data)
        self.feed_table = []  # rebuilt with this feed as intraday at the next bar
        warnings.warn(
            f"FinbotBroker: data {self._symbols.symbol(data)!r} is declared with a daily timeframe but its bars "
            f"are {gap * 1440:g} minutes apart; its orders are timed by the bars' own timestamps "
            "(pass timeframe=bt.TimeFrame.Minutes and compression to the feed to silence this)",
            UserWarning, stacklevel=3)
        return False
