"""Regression scenarios of issue 12 ("Drop-in fidelity"): each numbered divergence from BackBroker.

Every test runs the same scenario under ``bt.brokers.BackBroker`` and ``FinbotBroker()`` and
compares what a strategy sees (notifications, trades, cash, value, types), as
``tests/test_broker_parity.py`` does; the test names carry the item's number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import backtrader as bt

from finbot_bt import FinbotBroker
from tests.bt_harness import assert_same, make_ohlcv, pandas_feed, side_by_side

O = bt.Order  # noqa: E741
FRAME = make_ohlcv(60, seed=3)


def daily() -> list[Any]:
    return [pandas_feed(FRAME, name="A")]


def run_strategy(broker: Any, strategy: type, feeds: Any = daily, **cerebro_kwargs: Any) -> Any:
    """Run ``strategy`` with ``broker`` (None: cerebro's BackBroker) and return the strategy."""
    bt.Order.refbasis = __import__("itertools").count(1)
    cerebro = bt.Cerebro(**cerebro_kwargs)
    for feed in feeds():
        cerebro.adddata(feed)
    if broker is not None:
        cerebro.setbroker(broker)
    cerebro.addstrategy(strategy)
    return cerebro.run()[0]


# ---------------------------------------------------------------- 9: types


class TypeRecorder(bt.Strategy):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def start(self) -> None:
        self.broker.setcash(100000)
        self.seen.append(("start", type(self.broker.startingcash), type(self.broker.getcash())))

    def next(self) -> None:
        if len(self) == 2:
            self.buy(size=3)
        if len(self) == 5:
            self.sell(size=5)
        self.seen.append((len(self), type(self.position.size), type(self.broker.startingcash),
                          type(self.broker.getcash())))

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            self.seen.append(("exec", "{:+d}".format(order.executed.size), type(order.executed.size)))

    def notify_trade(self, trade: Any) -> None:
        self.seen.append(("trade", trade.size, type(trade.size)))


def test_types_9_when_strategy_gives_int_sizes_and_cash_then_ints_come_back_as_with_backbroker() -> None:
    expected = run_strategy(None, TypeRecorder).seen
    got = run_strategy(FinbotBroker(), TypeRecorder).seen
    assert ("exec", "+3", int) in expected
    assert got == expected


# ---------------------------------------------------------------- 7: add_cash then getvalue(datas)


def test_add_cash_7_when_order_target_percent_follows_a_deposit_then_the_deposit_counts_at_once() -> None:
    plan = {
        3: [lambda s: s.buy(size=10)],
        6: [lambda s: s.broker.add_cash(5000.0), lambda s: s.order_target_percent(target=0.9)],
        9: [lambda s: s.broker.add_cash(-2000.0), lambda s: s.order_target_value(target=3000.0)],
    }
    expected, got = side_by_side(daily, plan)
    assert_same(expected, got)


_ = (datetime, timedelta)


# ---------------------------------------------------------------- 4: cheat-on-close with a price


def test_coc_4_when_market_order_names_a_price_then_it_fills_at_the_creation_close() -> None:
    plan = {
        3: [lambda s: s.buy(size=5, exectype=O.Market, price=round(s.data.close[0] * 0.9, 2))],
        7: [lambda s: s.sell(size=5, price=round(s.data.close[0] * 1.1, 2))],
        10: [lambda s: s.buy_bracket(size=4, exectype=O.Market, price=round(s.data.close[0] * 0.95, 2),
                                     stopprice=round(s.data.close[0] * 0.97, 2),
                                     limitprice=round(s.data.close[0] * 1.03, 2))],
        # Valued at its price the order fits the cash; at the close it would not (BackBroker checks the price).
        20: [lambda s: s.buy(size=120, price=50.0)],
    }
    expected, got = side_by_side(daily, plan, setup=lambda c: c.broker.set_coc(True))
    assert [e for e in expected["log"] if e[2] == "Completed"]
    assert_same(expected, got)


# ---------------------------------------------------------------- 6 and 8: trailing orders


class TrailRecorder(bt.Strategy):
    """Places trailing orders and records what a strategy reads of them every bar."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.orders: list[Any] = []

    def start(self) -> None:
        self.broker.set_cash(1_000_000)
        self.broker.set_filler(bt.broker.fillers.FixedSize(size=3))

    def next(self) -> None:
        close = self.data.close[0]
        if len(self) == 2:
            self.buy(size=40)
        if len(self) == 4:
            self.orders.append(self.sell(size=20, exectype=O.StopTrail, trailamount=1.2))
            self.orders.append(self.sell(size=20, exectype=O.StopTrailLimit, price=close,
                                         plimit=close - 0.5, trailamount=0.8))
            self.orders.append(self.buy(size=12, exectype=O.StopTrailLimit, price=close,
                                        plimit=close + 0.6, trailpercent=0.01))
        for order in self.orders:
            self.seen.append((len(self), order.ref, round(order.created.price, 6),
                              None if order.created.pricelimit is None else round(order.created.pricelimit, 6),
                              order.getstatusname(), order.executed.size))

    def notify_order(self, order: Any) -> None:
        self.seen.append((len(self), order.ref, order.getstatusname(), order.executed.size,
                          round(order.executed.price, 6)))


def test_trailing_6_8_when_trailing_orders_work_then_created_prices_follow_and_freeze_as_backbroker() -> None:
    expected = run_strategy(None, TrailRecorder).seen
    got = run_strategy(FinbotBroker(), TrailRecorder).seen
    assert any(entry[2] == "Partial" for entry in expected if len(entry) == 5)
    assert got == expected
