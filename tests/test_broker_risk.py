"""Risk controls through cerebro: typed rejections, the drawdown latch, the kill switch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import backtrader as bt
import pandas as pd

from finbot_bt import FinbotBroker
from finbot_bt.contracts.risk import (
    DrawdownLimitRule,
    OrderRateLimit,
    OrderSizeRule,
    PositionLimitRule,
    RiskConfig,
)
from tests.bt_harness import make_ohlcv, pandas_feed

FRAME = make_ohlcv(60, seed=17)


class Scripted(bt.Strategy):
    params = (("plan", None),)

    def __init__(self) -> None:
        self.log: list[tuple[int, str, str, float, str]] = []

    def notify_order(self, order: Any) -> None:
        self.log.append((len(self), order.getstatusname(), order.ordtypename(), order.executed.size,
                         order.info.get("reject_reason", "")))

    def next(self) -> None:
        for action in (self.p.plan or {}).get(len(self), ()):
            action(self)


def _run(frame: pd.DataFrame, plan: dict[int, list[Any]], **broker: Any) -> tuple[list[Any], FinbotBroker]:
    cerebro = bt.Cerebro()
    cerebro.adddata(pandas_feed(frame, name="A"))
    finbot = FinbotBroker(**broker)
    cerebro.setbroker(finbot)
    cerebro.addstrategy(Scripted, plan=plan)
    return cerebro.run()[0].log, finbot


def test_risk_when_position_limit_then_excess_rejected_and_reduction_passes() -> None:
    risk = RiskConfig(position_limit=PositionLimitRule(max_shares=Decimal(10)))
    plan = {3: [lambda s: s.buy(size=6)], 5: [lambda s: s.buy(size=6)], 6: [lambda s: s.buy(size=4)],
            8: [lambda s: s.sell(size=10)]}
    log, broker = _run(FRAME, plan, risk=risk)
    rejected = [entry for entry in log if entry[1] == "Rejected"]
    assert rejected == [(6, "Rejected", "Buy", 0, "risk_position_limit")]
    completed = [entry[3] for entry in log if entry[1] == "Completed"]
    assert completed == [6, 4, -10]  # exactly at the limit passes; the reduction passes
    message = broker.rejections_frame()["message"].iloc[0]
    assert "position" in message and "10" in message and "12" in message


def test_risk_when_order_size_and_rate_limits_then_each_rejects_with_its_code() -> None:
    risk = RiskConfig(order_size=OrderSizeRule(max_order_quantity=Decimal(5)),
                      order_rate=OrderRateLimit(max_orders=2, interval=timedelta(days=1)))
    plan = {3: [lambda s: s.buy(size=6)], 4: [lambda s: s.buy(size=1), lambda s: s.buy(size=1),
                                             lambda s: s.buy(size=1)]}
    log, _ = _run(FRAME, plan, risk=risk)
    reasons = [entry[4] for entry in log if entry[1] == "Rejected"]
    assert reasons == ["risk_order_size", "risk_order_rate"]


def test_risk_when_drawdown_breached_then_latched_reducing_until_enabled() -> None:
    frame = FRAME.copy()
    # A 20 % collapse on bar 10 (index 9), after a position is on.
    frame.iloc[9:, :4] = frame.iloc[9:, :4] * 0.8
    frame.iloc[9, 0] = frame.iloc[8, 3]  # open where the previous bar closed
    frame.iloc[9, 1] = max(frame.iloc[9, 0], frame.iloc[9, 1])
    risk = RiskConfig(drawdown_limit=DrawdownLimitRule(max_total_drawdown_pct=Decimal(5)))
    plan = {
        3: [lambda s: s.buy(size=60)],
        11: [lambda s: s.buy(size=5)],            # refused: latched to reducing-only
        12: [lambda s: s.sell(size=20)],          # a reduction passes
        14: [lambda s: s.broker.enable_trading(), lambda s: s.buy(size=5)],
    }
    log, broker = _run(frame, plan, risk=risk)
    assert [entry for entry in log if entry[1] == "Rejected"] == [(12, "Rejected", "Buy", 0, "risk_drawdown_limit")]
    assert [entry[3] for entry in log if entry[1] == "Completed"] == [60, -20, 5]
    kinds = [type(e).__name__ for e in broker.events]
    assert "RiskLimitBreached" in kinds
    assert broker.trading_state == "active"


def test_risk_when_kill_switch_with_flatten_then_orders_cancelled_positions_closed() -> None:
    plan = {
        3: [lambda s: s.buy(size=7), lambda s: s.buy(size=3, exectype=bt.Order.Limit,
                                                  price=float(s.data.close[0]) * 0.5)],
        6: [lambda s: s.broker.disable_trading("manual stop", flatten=True)],
        7: [lambda s: s.buy(size=1)],
        9: [lambda s: s.broker.enable_trading(), lambda s: s.buy(size=2)],
    }
    log, broker = _run(FRAME, plan)
    statuses = [(entry[0], entry[1], entry[2]) for entry in log]
    assert (7, "Canceled", "Buy") in statuses            # the resting limit
    assert (7, "Completed", "Sell") in statuses          # the flattening order
    assert (8, "Rejected", "Buy") in statuses            # halted
    assert (10, "Completed", "Buy") in statuses          # enabled again
    assert broker.getposition(broker.cerebro.datas[0]).size == 2
    changes = [(e.previous.value, e.state.value) for e in broker.events if type(e).__name__ == "TradingStateChanged"]
    assert changes == [("active", "halted"), ("halted", "active")]


def test_risk_when_bracket_under_position_limit_then_exits_count_once_and_bracket_trades() -> None:
    risk = RiskConfig(position_limit=PositionLimitRule(max_shares=Decimal(20000)))
    close = float(FRAME["close"].iloc[2])
    plan = {3: [lambda s: s.buy_bracket(size=17543, price=close * 1.05, stopprice=close * 0.5,
                                        limitprice=close * 1.02, exectype=bt.Order.Limit)]}
    log, broker = _run(FRAME, plan, risk=risk, cash=10**7)
    assert broker.rejections_frame().empty
    statuses = [(entry[1], entry[2], entry[3]) for entry in log if entry[1] in ("Completed", "Canceled", "Rejected")]
    # The entry fills, then one exit closes the whole position and its sibling is cancelled.
    assert statuses == [("Completed", "Buy", 17543), ("Completed", "Sell", -17543), ("Canceled", "Sell", 0)]
