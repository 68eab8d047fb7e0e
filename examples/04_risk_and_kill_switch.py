"""Risk limits and the kill switch.

Pre-trade rules refuse orders with a typed reason (``order.info.reject_reason``);
the kill switch (``cerebro.broker.disable_trading``, here ``self.broker`` in the
strategy) halts trading and cancels open orders until ``enable_trading()``. Rejections are values, not
exceptions: the strategy keeps running.
Run: python examples/04_risk_and_kill_switch.py
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import backtrader as bt

from finbot_bt import FinbotBroker
from finbot_bt.contracts.events import TradingStateChanged
from finbot_bt.contracts.risk import OrderRateLimit, OrderSizeRule, PositionLimitRule, RiskConfig
from finbot_bt.runner.backtest import run_backtest, sample_frames

RISK = RiskConfig(
    order_size=OrderSizeRule(max_order_quantity=Decimal(500)),
    position_limit=PositionLimitRule(max_shares=Decimal(1200)),
    order_rate=OrderRateLimit(max_orders=1, interval=timedelta(days=6)),
)


class Scripted(bt.Strategy):
    """Buys every third bar, sometimes too much; kill switch on bar 40, trading again on bar 60."""

    def notify_order(self, order):
        if order.status in (order.Rejected, order.Margin):
            print(f"  bar {len(self):3d}: rejected {order.info.reject_reason}")

    def next(self):
        bar = len(self)
        if bar == 40:
            print(f"  bar {bar:3d}: KILL SWITCH (position {self.position.size:g})")
            self.broker.disable_trading("manual kill switch")
        elif bar == 60:
            print(f"  bar {bar:3d}: trading enabled again; selling down in clips of 500")
            self.broker.enable_trading("risk review done")
        elif bar > 60 and bar % 7 == 0 and self.position:
            self.sell(size=min(500, self.position.size))  # order_size caps every order, reducing ones too
        elif bar < 60 and bar % 3 == 0:
            self.buy(size=800 if bar % 9 == 0 else 300)


if __name__ == "__main__":
    result = run_backtest(Scripted, sample_frames(), broker=FinbotBroker(cash=1_000_000.0, risk=RISK))
    broker = result.broker
    print("\nrejections by reason:")
    print(broker.rejections_frame()["reason"].value_counts().to_string())
    print("\ntrading state changes:")
    for event in broker.events:
        if isinstance(event, TradingStateChanged):
            print(f"  {event.timestamp:%Y-%m-%d}: {event.previous} -> {event.state} ({event.reason})")
    print(f"\nfinal position: {broker.getposition(result.strategy.data).size:g}")
