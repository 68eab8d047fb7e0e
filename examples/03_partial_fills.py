"""Partial fills under a volume cap: an order may take at most 10 % of each bar's volume.

The strategy buys 3,000 shares at once; with ~15,000 shares traded a day the
order fills over several bars (``is_partial`` marks the fills that left it open).
Run: python examples/03_partial_fills.py
"""

from __future__ import annotations

from decimal import Decimal

import backtrader as bt

from finbot_bt import FinbotBroker
from finbot_bt.execution.fills import FillConfig, ParticipationCap
from finbot_bt.runner.backtest import run_backtest, sample_frames


class BuyBlock(bt.Strategy):
    params = (("size", 3000), ("on_bar", 5))

    def notify_order(self, order):
        if order.status == order.Partial:
            print(f"  {bt.num2date(order.executed.dt):%Y-%m-%d}: partial, {order.executed.size:g} of "
                  f"{order.created.size:g} filled")
        elif order.status == order.Completed:
            print(f"  {bt.num2date(order.executed.dt):%Y-%m-%d}: completed at avg {order.executed.price:.2f}")

    def next(self):
        if len(self) == self.p.on_bar:
            self.buy(size=self.p.size)


if __name__ == "__main__":
    cap = FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.1")))
    print("notifications:")
    result = run_backtest(BuyBlock, sample_frames(), broker=FinbotBroker(cash=1_000_000.0, fill=cap))
    fills = result.broker.fills_frame()
    print("\nfills:")
    print(fills[["timestamp", "quantity", "price", "is_partial"]].to_string(index=False))
    bars = result.prices["SYNTH"].loc[fills["timestamp"].dt.normalize(), "volume"]
    print(f"\nbar volumes: {[int(v) for v in bars]} -> each fill <= 10 % of its bar")
