"""Side-by-side harness: run a scripted strategy under BackBroker and FinbotBroker.

A *plan* maps a bar number (``len(strategy)``) to a list of actions; each
action is a function of the strategy. The recorder logs every order and
trade notification and the broker's cash and value at each bar, so two runs
can be compared field by field.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from finbot_bt import FinbotBroker

Action = Callable[[Any], Any]
Plan = dict[int, list[Action]]


def make_ohlcv(n: int = 120, seed: int = 7, start: datetime = datetime(2021, 1, 4),
               zero_volume_every: int = 0, step: timedelta = timedelta(days=1)) -> pd.DataFrame:
    """Real-looking OHLCV bars: a random walk with overnight gaps, wide and narrow bars."""
    rng = random.Random(seed)
    rows = []
    close = 100.0
    ts = start
    for i in range(n):
        gap = rng.gauss(0, 0.012) if rng.random() < 0.35 else rng.gauss(0, 0.003)
        open_ = round(close * (1 + gap), 2)
        close = round(open_ * (1 + rng.gauss(0, 0.015)), 2)
        high = round(max(open_, close) * (1 + abs(rng.gauss(0, 0.006))), 2)
        low = round(min(open_, close) * (1 - abs(rng.gauss(0, 0.006))), 2)
        volume = 0 if zero_volume_every and i % zero_volume_every == 0 else rng.randint(800, 5000)
        rows.append((ts, open_, high, low, close, volume, 0))
        ts += step
        while step >= timedelta(days=1) and ts.weekday() >= 5:
            ts += timedelta(days=1)
    frame = pd.DataFrame(rows, columns=["datetime", "open", "high", "low", "close", "volume", "openinterest"])
    return frame.set_index("datetime")


def write_bt_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` in Backtrader's CSV layout (Date,Open,High,Low,Close,Volume,OpenInterest)."""
    out = frame.copy()
    out.index = out.index.strftime("%Y-%m-%d")
    out.index.name = "Date"
    out.columns = ["Open", "High", "Low", "Close", "Volume", "OpenInterest"]
    out.to_csv(path)
    return path


def csv_feed(path: Path, name: str | None = None) -> Any:
    return bt.feeds.BacktraderCSVData(dataname=str(path), name=name)


def pandas_feed(frame: pd.DataFrame, name: str | None = None, **kwargs: Any) -> Any:
    return bt.feeds.PandasData(dataname=frame, name=name, **kwargs)


def _r(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return value + 0.0
    return value


class Recorder(bt.Strategy):
    """Runs ``plan`` and records notifications, trades and cash/value per bar."""

    params = (("plan", None), ("on_start", None), ("plan_open", None))

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.trades: list[tuple[Any, ...]] = []
        self.values: list[tuple[Any, ...]] = []
        self.kept: dict[str, Any] = {}

    def start(self) -> None:
        if self.p.on_start is not None:
            self.p.on_start(self)

    def keep(self, name: str, order: Any) -> Any:
        self.kept[name] = order
        return order

    def notify_order(self, order: Any) -> None:
        ex = order.executed
        self.log.append((
            len(self), order.data._name, order.getstatusname(), order.ordtypename(), order.getordername(),
            _r(order.created.size), _r(ex.size), _r(ex.price), _r(ex.comm), _r(ex.pnl), _r(ex.value),
            _r(ex.psize), _r(ex.pprice), _r(ex.dt),
            tuple((_r(b.size), _r(b.price), _r(b.closed), _r(b.opened)) for b in ex.iterpending()),
        ))

    def notify_trade(self, trade: Any) -> None:
        self.trades.append((len(self), trade.data._name, trade.status, _r(trade.size), _r(trade.price),
                            _r(trade.pnl), _r(trade.pnlcomm), _r(trade.commission), trade.barlen))

    def _run_plan(self, plan: Plan | None) -> None:
        if plan:
            for action in plan.get(len(self), ()):
                action(self)

    def next_open(self) -> None:
        self._run_plan(self.p.plan_open)

    def next(self) -> None:
        self._run_plan(self.p.plan)
        self.values.append((len(self), _r(self.broker.getcash()), _r(self.broker.getvalue())))


def run(broker_factory: Callable[[], Any] | None, feeds: Callable[[], list[Any]], plan: Plan | None = None,
        *, setup: Callable[[Any], None] | None = None, on_start: Action | None = None,
        plan_open: Plan | None = None, analyzers: bool = False, strategy: type[Recorder] | None = None,
        **cerebro_kwargs: Any) -> dict[str, Any]:
    """Run one backtest; ``broker_factory=None`` keeps cerebro's BackBroker.

    ``strategy`` replaces :class:`Recorder` by a subclass that records more.
    """
    bt.Order.refbasis = itertools.count(1)
    cerebro = bt.Cerebro(**cerebro_kwargs)
    for feed in feeds():
        cerebro.adddata(feed)
    if broker_factory is not None:
        cerebro.setbroker(broker_factory())
    if setup is not None:
        setup(cerebro)
    cerebro.addstrategy(strategy or Recorder, plan=plan, on_start=on_start, plan_open=plan_open)
    if analyzers:
        cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
        cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe", timeframe=bt.TimeFrame.Days)
        cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
        cerebro.addanalyzer(bt.analyzers.Returns, _name="returns")
        cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="timereturn")
        cerebro.addanalyzer(bt.analyzers.SQN, _name="sqn")
        cerebro.addanalyzer(bt.analyzers.Transactions, _name="transactions")
        cerebro.addanalyzer(bt.analyzers.PositionsValue, _name="positionsvalue", cash=True)
        cerebro.addanalyzer(bt.analyzers.PyFolio, _name="pyfolio")
    strategy = cerebro.run()[0]
    result: dict[str, Any] = {
        "log": strategy.log,
        "trades": strategy.trades,
        "values": strategy.values,
        "cash": _r(cerebro.broker.getcash()),
        "value": _r(cerebro.broker.getvalue()),
    }
    if hasattr(strategy, "links"):
        result["links"] = strategy.links  # the order graph a recorder kept (tests/parity_fuzz_check.py)
    if analyzers:
        result["analyzers"] = {name: _flatten(strategy.analyzers.getbyname(name).get_analysis())
                               for name in ("trades", "sharpe", "drawdown", "returns", "timereturn", "sqn",
                                            "transactions", "positionsvalue", "pyfolio")}
    result["observers"] = None
    if cerebro_kwargs.get("stdstats", True) and not cerebro_kwargs.get("exactbars"):
        # The default observers (Broker cash/value, BuySell, Trades) as recorded on every bar
        # (full buffers only: with exactbars the lines are ring buffers).
        bars = len(strategy)
        result["observers"] = [
            [_r(x) for x in list(observer.lines[i].array)[:bars]] for observer in strategy.observers
            for i in range(observer.lines.size())
        ]
    return result


def _flatten(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _flatten(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_flatten(v) for v in obj]
    return _r(obj)


class Keep:
    """A broker factory that remembers the broker it built."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.broker: Any = None

    def __call__(self) -> Any:
        self.broker = FinbotBroker(**self.kwargs)
        return self.broker


def side_by_side(feeds: Callable[[], list[Any]], plan: Plan | None = None, *,
                 finbot: Callable[[], Any] = FinbotBroker, back: Callable[[], Any] | None = None,
                 **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the same scenario with BackBroker (or ``back``) and FinbotBroker."""
    return run(back, feeds, plan, **kwargs), run(finbot, feeds, plan, **kwargs)


def same(a: Any, b: Any) -> bool:
    """Structural equality with floats equal within 1e-9 relative or 2e-6 absolute.

    BackBroker accumulates binary floating-point error; finbot_bt computes in
    exact Decimal and converts once, so the two may differ in the last digits.
    """
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=2e-6)
        return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def assert_same(expected: dict[str, Any], got: dict[str, Any]) -> None:
    """Compare two runs; on a difference, show the first differing entry."""
    for key in expected:
        a, b = expected[key], got[key]
        if same(a, b):
            continue
        if isinstance(a, list) and isinstance(b, list):
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                assert same(x, y), f"{key}[{i}] differs:\n  BackBroker: {x}\n  Finbot:     {y}"
            assert len(a) == len(b), f"{key}: {len(a)} entries with BackBroker, {len(b)} with Finbot"
        raise AssertionError(f"{key} differs:\n  BackBroker: {a}\n  Finbot:     {b}")
