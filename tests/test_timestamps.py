"""One timestamp convention in every frame, whatever the entry point (plain cerebro or the runner)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from finbot_bt import FinbotBroker
from finbot_bt.contracts.risk import OrderSizeRule, RiskConfig
from finbot_bt.runner.backtest import run_backtest
from finbot_bt.runner.loading import load_ohlcv
from tests.bt_harness import csv_feed, make_ohlcv, pandas_feed, write_bt_csv

FRAME = make_ohlcv(30, seed=5)
RISK = RiskConfig(order_size=OrderSizeRule(max_order_quantity=Decimal(50)))


class Trader(bt.Strategy):
    def next(self) -> None:
        if len(self) == 3:
            self.buy(size=10)
        elif len(self) == 5:
            self.buy(size=100)  # refused by the order-size rule
        elif len(self) == 7:
            self.sell(size=10, exectype=bt.Order.Close)
        elif len(self) == 9:
            self.buy(size=5, exectype=bt.Order.Limit, price=1.0, valid=self.data.datetime.date(0))


def _cerebro(feed: Any) -> FinbotBroker:
    cerebro = bt.Cerebro()
    cerebro.adddata(feed)
    broker = FinbotBroker(risk=RISK)
    cerebro.setbroker(broker)
    cerebro.addstrategy(Trader)
    cerebro.run()
    return broker


def _stamps(broker: FinbotBroker) -> dict[str, list[Any]]:
    orders = broker.orders_frame()
    return {
        "fills": list(broker.fills_frame()["timestamp"]),
        "submitted": list(orders["submitted_at"].dropna()),  # a refused order was never submitted
        "finished": list(orders["finished_at"]),
        "rejections": list(broker.rejections_frame()["timestamp"]),
        "equity": list(broker.equity_frame().index),
    }


def test_frames_when_csv_or_pandas_daily_feed_then_same_timestamps(tmp_path: Path) -> None:
    path = write_bt_csv(FRAME, tmp_path / "a.csv")
    from_csv = _stamps(_cerebro(csv_feed(path, name="A")))
    from_pandas = _stamps(_cerebro(pandas_feed(FRAME, name="A")))
    from_runner = _stamps(run_backtest(Trader, [("A", load_ohlcv(path))], broker=FinbotBroker(risk=RISK)).broker)
    assert from_csv == from_pandas == from_runner
    # Bars, order submissions, rejections and equity at the session close; fills when they happen.
    assert {t.time() for t in from_csv["equity"]} == {time(16)}
    assert {t.time() for t in from_csv["submitted"] + from_csv["rejections"]} == {time(16)}
    assert [t.time() for t in from_csv["fills"]] == [time(9, 30), time(16)]  # market at the open, Close at the close
    assert len(from_csv["rejections"]) == 1 and from_csv["equity"][0] == pd.Timestamp("2021-01-04 16:00")


def test_expiry_when_valid_date_on_csv_feed_then_expires_like_backbroker(tmp_path: Path) -> None:
    path = write_bt_csv(FRAME, tmp_path / "a.csv")
    expired: dict[str, list[int]] = {}
    for name, broker in (("back", bt.brokers.BackBroker()), ("finbot", FinbotBroker())):

        class Log(Trader):
            def __init__(self) -> None:
                self.log: list[int] = []

            def notify_order(self, order: Any) -> None:
                if order.status == order.Expired:
                    self.log.append(len(self))

        cerebro = bt.Cerebro()
        cerebro.adddata(csv_feed(path, name="A"))
        cerebro.setbroker(broker)
        cerebro.addstrategy(Log)
        expired[name] = cerebro.run()[0].log
    assert expired["finbot"] == expired["back"] == [10]
