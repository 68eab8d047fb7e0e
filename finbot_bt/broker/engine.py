"""What the layers above the broker (the CLI runner, sweeps, regressions) need from Backtrader.

The broker package is the only one of finbot_bt that imports backtrader. The
runner and the sweep build and run cerebros through these helpers: feeds over
normalised OHLCV frames, the run itself, a strategy-class check and the
closed-trade log of a run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

import backtrader as bt
import pandas as pd

TradeRecord = tuple[str, str, str, str, str, int]
"""A closed trade: data name, open and close time (ISO), P&L and P&L after commission (6 decimals), bars."""


def timeframe_of(frame: pd.DataFrame) -> tuple[int, int]:
    """``(bt.TimeFrame, compression)`` guessed from the median bar spacing."""
    if len(frame.index) < 2:
        return int(bt.TimeFrame.Days), 1
    step = pd.Series(frame.index).diff().median()
    minutes = int(step.total_seconds() // 60)
    if minutes >= 24 * 60 or minutes <= 0:
        return int(bt.TimeFrame.Days), 1
    return int(bt.TimeFrame.Minutes), minutes


def make_feed(frame: pd.DataFrame, name: str, **kwargs: Any) -> Any:
    """A ``bt.feeds.PandasData`` over a normalised frame, with its timeframe set."""
    timeframe, compression = timeframe_of(frame)
    return bt.feeds.PandasData(dataname=frame, name=name, timeframe=timeframe,
                               compression=compression, **kwargs)


def feed_closes(data: Any) -> pd.DataFrame:
    """The closes of a finished feed, indexed by bar time (column ``close``)."""
    length = data.buflen()
    times = [bt.num2date(x) for x in data.datetime.array[:length]]
    return pd.DataFrame({"close": list(data.close.array[:length])},
                        index=pd.DatetimeIndex(times, name="datetime"))


def is_strategy_class(value: object) -> TypeGuard[type[Any]]:
    """True for a ``bt.Strategy`` subclass."""
    return isinstance(value, type) and issubclass(value, bt.Strategy)


class TradeLog(bt.Analyzer):  # type: ignore[misc]
    """Records every closed trade as a :data:`TradeRecord`, whatever the strategy does."""

    def start(self) -> None:
        self.trades: list[TradeRecord] = []

    def notify_trade(self, trade: Any) -> None:
        if trade.isclosed:
            self.trades.append((
                trade.data._name, bt.num2date(trade.dtopen).isoformat(), bt.num2date(trade.dtclose).isoformat(),
                f"{trade.pnl:.6f}", f"{trade.pnlcomm:.6f}", int(trade.barlen),
            ))

    def get_analysis(self) -> Any:
        return self.trades


def run_cerebro(
    feeds: Iterable[Any],
    broker: Any,
    strategy: type[Any],
    strategy_params: Mapping[str, Any] | None = None,
    *,
    analyzers: Iterable[tuple[Any, Mapping[str, Any]]] = (),
    stdstats: bool = True,
    fresh_order_refs: bool = False,
) -> tuple[Any, Any]:
    """Run ``strategy`` on ``feeds`` with ``broker``; return ``(cerebro, strategy instance)``.

    ``analyzers`` are ``(class, keyword arguments)`` pairs. ``fresh_order_refs``
    restarts Backtrader's process-wide order reference counter, so that runs in
    one worker process number their orders alike.
    """
    if fresh_order_refs:
        bt.Order.refbasis = itertools.count(1)
    cerebro = bt.Cerebro(stdstats=stdstats)
    for feed in feeds:
        cerebro.adddata(feed)
    cerebro.setbroker(broker)
    cerebro.addstrategy(strategy, **dict(strategy_params or {}))
    for analyzer, kwargs in analyzers:
        cerebro.addanalyzer(analyzer, **dict(kwargs))
    return cerebro, cerebro.run()[0]


TRADE_ANALYZER: tuple[Any, Mapping[str, Any]] = (bt.analyzers.TradeAnalyzer, {"_name": "trades"})
"""Backtrader's TradeAnalyzer under the name ``trades`` (for :func:`run_cerebro`)."""

__all__ = ["TRADE_ANALYZER", "TradeLog", "TradeRecord", "feed_closes", "is_strategy_class", "make_feed", "run_cerebro",
           "timeframe_of"]
