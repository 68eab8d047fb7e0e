"""Sizes at the broker's door: buy()/sell() called directly with a non-positive size are rejected."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker
from tests.bt_harness import make_ohlcv, pandas_feed


class Direct(bt.Strategy):
    params = (("method", "buy"), ("size", -5))

    def __init__(self) -> None:
        self.log: list[tuple[str, float, str]] = []

    def notify_order(self, order: Any) -> None:
        self.log.append((order.getstatusname(), order.executed.size, order.info.get("reject_reason", "")))

    def next(self) -> None:
        if len(self) == 2:
            getattr(self.broker, self.p.method)(self, self.data, size=self.p.size)


def _run(broker: Any, method: str, size: float) -> tuple[list[tuple[str, float, str]], Any]:
    cerebro = bt.Cerebro()
    cerebro.adddata(pandas_feed(make_ohlcv(8), name="A"))
    cerebro.setbroker(broker)
    cerebro.addstrategy(Direct, method=method, size=size)
    strategy = cerebro.run()[0]
    return strategy.log, cerebro.broker


@pytest.mark.parametrize(("method", "size"), [("buy", -5), ("sell", -5), ("buy", 0), ("sell", 0.0)],
                         ids=["buy-negative", "sell-negative", "buy-zero", "sell-zero"])
def test_broker_when_size_not_positive_then_rejected_with_reason_and_nothing_trades(method: str, size: float) -> None:
    log, broker = _run(FinbotBroker(), method, size)
    assert [(status, executed) for status, executed, _ in log] == [("Submitted", 0), ("Rejected", 0)]
    assert log[-1][2] == "invalid_quantity"
    assert broker.getcash() == broker.getvalue() == 10000.0  # nothing traded, nothing left working
    assert broker.orders_frame()["status"].tolist() == ["rejected"]
    rejection = broker.rejections_frame().iloc[0]
    assert rejection["reason"] == "invalid_quantity"
    assert "positive" in rejection["message"] and str(size).rstrip("0").rstrip(".") in rejection["message"]


def test_backbroker_when_buy_size_negative_then_trades_the_other_way() -> None:
    # The documented difference: BackBroker executes the signed size, a "buy" of -5 sells 5.
    log, _ = _run(bt.brokers.BackBroker(), "buy", -5)
    assert log[-1] == ("Completed", -5, "")
