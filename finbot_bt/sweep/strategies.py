"""Reference strategies for sweeps and regression suites, next to the example SmaCross.

``finbot_bt.runner.strategies.SmaCross`` covers market orders on one feed;
:class:`LimitPullback` covers limit orders, expiry and several feeds. Their job
is to exercise the broker, not to make money.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt


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


__all__ = ["LimitPullback"]
