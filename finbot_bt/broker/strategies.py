"""Strategies shipped with finbot_bt (the example of the README, the CLI and the regression suite).

They are Backtrader strategies, so they live in the broker package, the one
package of finbot_bt that imports backtrader. Configurations name them
``finbot_bt.broker.strategies:SmaCross`` and
``finbot_bt.broker.strategies:LimitPullback``; user strategies are loaded by
:func:`finbot_bt.runner.loader.load_strategy`.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt


class SmaCross(bt.Strategy):  # type: ignore[misc]
    """Long-only moving-average crossover, one order at a time.

    Buys ``stake`` (a fraction of portfolio value, in shares rounded down)
    when the ``fast``-bar SMA crosses above the ``slow``-bar SMA and closes the
    position when it crosses below. While an order is working (latency,
    partial fills) no new order is sent.
    """

    params = (("fast", 10), ("slow", 30), ("stake", 0.95))

    def __init__(self) -> None:
        fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.crossover = bt.indicators.CrossOver(fast, slow)
        self.order: Any = None

    def notify_order(self, order: Any) -> None:
        if self.order is not None and order.ref == self.order.ref and not order.alive():
            self.order = None

    def next(self) -> None:
        if self.order is not None:
            return
        if not self.position and self.crossover[0] > 0:
            size = int(self.broker.getvalue() * self.p.stake / self.data.close[0])
            if size > 0:
                self.order = self.buy(size=size)
        elif self.position and self.crossover[0] < 0:
            self.order = self.close()



class LimitPullback(bt.Strategy):  # type: ignore[misc]
    """Bid ``pullback_pct`` below the close for ``valid_bars`` bars; sell after ``hold_bars`` bars.

    Parameters: ``pullback_pct`` (percent), ``valid_bars``, ``hold_bars``, ``stake`` (units).
    """

    params = (("pullback_pct", 0.5), ("valid_bars", 2), ("hold_bars", 5), ("stake", 10))

    def __init__(self) -> None:
        self.pending: dict[Any, Any] = {}
        self.entered: dict[Any, int] = {}

    def notify_order(self, order: Any) -> None:
        if not order.alive():
            self.pending.pop(order.data, None)
            if order.status == order.Completed and order.isbuy():
                self.entered[order.data] = len(self)

    def next(self) -> None:
        for data in self.datas:
            if data in self.pending:
                continue
            held = self.getposition(data).size
            if held > 0 and len(self) - self.entered.get(data, len(self)) >= self.p.hold_bars:
                self.pending[data] = self.sell(data=data, size=held)
            elif held == 0:
                price = round(data.close[0] * (1 - self.p.pullback_pct / 100.0), 2)
                valid = data.datetime.date(0) + bt.datetime.timedelta(days=self.p.valid_bars)
                self.pending[data] = self.buy(data=data, size=self.p.stake, exectype=bt.Order.Limit,
                                              price=price, valid=valid)


__all__ = ["LimitPullback", "SmaCross"]
