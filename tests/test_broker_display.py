"""FinbotBroker's repr() and _repr_html_ (notebooks): settings, account, open orders, rejections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import backtrader as bt

from finbot_bt import FinbotBroker
from finbot_bt.contracts.risk import OrderSizeRule, RiskConfig
from finbot_bt.execution.fills import FillConfig, ParticipationCap
from finbot_bt.execution.slippage import BasisPointsSlippage
from tests.bt_harness import make_ohlcv, pandas_feed


class Orders(bt.Strategy):
    def next(self) -> None:
        if len(self) == 2:
            self.buy(size=5, exectype=bt.Order.Limit, price=1.0)  # far below: stays open
            self.buy(size=500)  # over the order-size rule
            self.buy(size=600)


def _broker() -> FinbotBroker:
    return FinbotBroker(latency="normal", risk=RiskConfig(order_size=OrderSizeRule(max_order_quantity=Decimal(100))),
                        fill=FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.1"))),
                        slippage=BasisPointsSlippage(bps=Decimal(5)), seed=7, simulator_id="demo")


def _run() -> Any:
    cerebro = bt.Cerebro()
    cerebro.adddata(pandas_feed(make_ohlcv(6), name="A"))
    cerebro.setbroker(_broker())
    cerebro.addstrategy(Orders)
    cerebro.run()
    return cerebro.broker


def test_repr_when_new_broker_then_settings_and_empty_account() -> None:
    text = repr(_broker())
    assert text.splitlines()[0] == (
        "FinbotBroker(latency=normal, risk=OrderSizeRule(max_order_quantity=100), "
        "volume_cap=ParticipationCap(fraction=0.1), slippage=BasisPointsSlippage(bps=5), "
        "commission=Backtrader commission schemes, seed=7, simulator_id=demo)")
    assert "cash: 10,000.00   value: 10,000.00   simulated time: not started" in text
    assert "open orders: 0" in text and "rejections: 0" in text


def test_repr_when_run_then_open_orders_and_rejections_by_reason() -> None:
    broker = _run()
    text = repr(broker)
    assert "open orders: 1" in text
    assert "demo-1  A buy limit 5 (remaining 5, limit 1, accepted)" in text
    assert "rejections: 2 (risk_order_size 2)" in text
    assert f"value: {broker.getvalue():,.2f}" in text


def test_repr_html_when_run_then_same_content_as_escaped_tables() -> None:
    broker = _run()
    page = broker._repr_html_()
    assert page.startswith("<div class='finbot-broker'>") and page.endswith("</div>")
    for cell in ("<td>demo-1</td>", "<td>limit 1</td>", "2 (risk_order_size 2)", "ParticipationCap(fraction=0.1)",
                 f"{broker.getcash():,.2f}"):
        assert cell in page
    broker.data_warnings = ("feed '<FX>' has volume 0",)
    assert "feed &#x27;&lt;FX&gt;&#x27; has volume 0" in broker._repr_html_()
