"""Backtrader's own published acceptance numbers, reproduced with FinbotBroker.

Backtrader's test suite runs an SMA(15) crossover on ``2006-day-001.txt``
(shipped in tests/data) in 12 cerebro configurations and asserts these exact
figures (tests/test_strategy_unoptimized.py, test_strategy_optimized.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker

DATA = Path(__file__).parent / "data" / "2006-day-001.txt"

BUY_CREATE = ["3641.42", "3798.46", "3874.61", "3860.00", "3843.08", "3648.33", "3526.84", "3632.93",
              "3788.96", "3841.31", "4045.22", "4052.89"]
SELL_CREATE = ["3763.73", "3811.45", "3823.11", "3821.97", "3837.86", "3604.33", "3562.56", "3772.21",
               "3780.18", "3974.62", "4048.16"]
BUY_EXEC = ["3643.35", "3801.03", "3872.37", "3863.57", "3845.32", "3656.43", "3542.65", "3639.65",
            "3799.86", "3840.20", "4047.63", "4052.55"]
SELL_EXEC = ["3763.95", "3811.85", "3822.35", "3822.57", "3829.82", "3598.58", "3545.92", "3766.80",
             "3782.15", "3979.73", "4045.05"]
class PublishedSmaCross(bt.Strategy):
    params = (("period", 15), ("stocklike", True))

    def __init__(self) -> None:
        self.cross = bt.ind.CrossOver(self.data.close, bt.ind.SMA(self.data, period=self.p.period))
        self.pending: Any = None
        self.buy_create: list[str] = []
        self.sell_create: list[str] = []
        self.buy_exec: list[str] = []
        self.sell_exec: list[str] = []

    def start(self) -> None:
        if not self.p.stocklike:
            self.broker.setcommission(commission=2.0, mult=10.0, margin=1000.0)

    def notify_order(self, order: Any) -> None:
        if order.status in (bt.Order.Submitted, bt.Order.Accepted):
            return
        if order.status == order.Completed:
            target = self.buy_exec if order.isbuy() else self.sell_exec
            target.append(f"{order.executed.price:.2f}")
        self.pending = None

    def next(self) -> None:
        if self.pending is not None:
            return
        if not self.position.size:
            if self.cross > 0.0:
                self.pending = self.buy()
                self.buy_create.append(f"{self.data.close[0]:.2f}")
        elif self.cross < 0.0:
            self.pending = self.close()
            self.sell_create.append(f"{self.data.close[0]:.2f}")


MODES = [dict(runonce=r, preload=p, exactbars=e)
         for r, p, e in itertools.product([True, False], [True, False], [-2, -1, False])]


@pytest.mark.parametrize("mode", MODES, ids=[str(m) for m in MODES])
@pytest.mark.parametrize("stocklike,value,cash", [(False, "12795.00", "11795.00"), (True, "10284.10", "6164.16")],
                         ids=["futures", "stocks"])
def test_published_when_sma_crossover_runs_then_backtrader_figures(
    mode: dict[str, Any], stocklike: bool, value: str, cash: str
) -> None:
    cerebro = bt.Cerebro(**mode)
    cerebro.adddata(bt.feeds.BacktraderCSVData(dataname=str(DATA), fromdate=None))
    cerebro.setbroker(FinbotBroker())
    cerebro.addstrategy(PublishedSmaCross, stocklike=stocklike)
    strategy = cerebro.run()[0]
    assert f"{cerebro.broker.getvalue():.2f}" == value
    assert f"{cerebro.broker.getcash():.2f}" == cash
    assert strategy.buy_create == BUY_CREATE
    assert strategy.sell_create == SELL_CREATE
    assert strategy.buy_exec == BUY_EXEC
    assert strategy.sell_exec == SELL_EXEC


def _optimize(broker: Any, maxcpus: int, periods: range) -> list[str]:
    cerebro = bt.Cerebro(maxcpus=maxcpus, optreturn=False)
    cerebro.adddata(bt.feeds.BacktraderCSVData(dataname=str(DATA)))
    if broker is not None:
        cerebro.setbroker(broker)
    cerebro.optstrategy(PublishedSmaCross, period=periods, stocklike=False)
    if maxcpus > 1:  # each run comes back from its own process with its own broker
        return [f"{run[0].broker.getvalue():.2f}/{run[0].broker.getcash():.2f}" for run in cerebro.run()]
    values: list[str] = []
    # Read each run as it ends: with maxcpus=1 the one broker is reused by the next run.
    cerebro.optcallback(lambda strats: values.append(
        f"{strats[0].broker.getvalue():.2f}/{strats[0].broker.getcash():.2f}"))
    cerebro.run()
    return values


def test_published_when_optstrategy_reuses_one_broker_then_each_run_resets() -> None:
    expected = _optimize(None, 1, range(5, 45))
    assert len(set(expected)) > 5
    assert _optimize(FinbotBroker(), 1, range(5, 45)) == expected


def test_published_when_optstrategy_runs_in_two_processes_then_broker_pickles() -> None:
    expected = _optimize(None, 1, range(5, 11))
    assert _optimize(FinbotBroker(), 2, range(5, 11)) == expected
