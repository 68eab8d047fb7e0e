"""Drop-in switch: the same SMA crossover with Backtrader's broker, then with FinbotBroker.

One line changes: ``cerebro.setbroker(FinbotBroker(latency="normal", risk=...))``.
Run: python examples/01_drop_in_switch.py
"""

from __future__ import annotations

from decimal import Decimal

import backtrader as bt

from finbot_bt import FinbotBroker
from finbot_bt.contracts.risk import OrderSizeRule, PositionLimitRule, RiskConfig
from finbot_bt.data import sample_path


class SmaCross(bt.Strategy):
    params = (("fast", 10), ("slow", 30))

    def __init__(self):
        self.crossover = bt.ind.CrossOver(bt.ind.SMA(period=self.p.fast), bt.ind.SMA(period=self.p.slow))

    def next(self):
        if not self.position and self.crossover > 0:
            self.buy(size=int(self.broker.getvalue() * 0.95 / self.data.close[0]))
        elif self.position and self.crossover < 0:
            self.close()


def run(broker=None):
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=str(sample_path()), adjclose=False, name="SYNTH"))
    cerebro.addstrategy(SmaCross)
    if broker is not None:
        cerebro.setbroker(broker)  # <- the one-line switch
    cerebro.broker.setcash(100_000)
    cerebro.run()
    return cerebro.broker


if __name__ == "__main__":
    back = run()
    print(f"BackBroker            final value {back.getvalue():12,.2f}")

    risk = RiskConfig(position_limit=PositionLimitRule(max_shares=Decimal(1000)),
                      order_size=OrderSizeRule(max_order_notional=Decimal(150_000)))
    finbot = run(FinbotBroker(latency="normal", risk=risk))
    print(f"FinbotBroker(normal)  final value {finbot.getvalue():12,.2f}")

    fills = finbot.fills_frame()
    print(f"\n{len(fills)} fills, median latency {fills['latency_seconds'].median() * 1000:.0f} ms")
    print(fills[["timestamp", "side", "quantity", "requested_price", "price", "latency_seconds"]].head())
    rejections = finbot.rejections_frame()
    print(f"\n{len(rejections)} rejections:")
    for row in rejections.itertuples():
        print(f"  {row.timestamp:%Y-%m-%d} {row.side} {row.quantity:g}: {row.reason} - {row.message}")
