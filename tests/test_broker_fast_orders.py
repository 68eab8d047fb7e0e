"""The broker's own bt.Order construction and clone are indistinguishable from Backtrader's.

Each order is built twice from the same arguments and the same ``ref`` counter
state, once through Backtrader's constructor and once through
:class:`finbot_bt.broker.fast_orders.OrderFactory`, and the two are compared
attribute by attribute, recursively (types, values, ``__dict__`` key order,
params objects, created/executed data); clones likewise, including what they
share with their order.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from datetime import date, datetime, time, timedelta
from typing import Any

import backtrader as bt
import pytest

from finbot_bt.broker import fast_orders
from finbot_bt.broker.fast_orders import OrderFactory, clone_order, mark_submitted, order_param
from tests.bt_harness import make_ohlcv, pandas_feed

_SCALARS = (int, float, str, bool, type(None), time, date, timedelta)


def _diff(a: Any, b: Any, path: str = "order", seen: set[tuple[int, int]] | None = None) -> list[str]:
    # Differences between two object graphs; objects passed in (data, owner, parent) are shared, so `is`.
    seen = set() if seen is None else seen
    if a is b:
        return []
    if type(a) is not type(b):
        return [f"{path}: type {type(a).__name__} != {type(b).__name__}"]
    if isinstance(a, float) and math.isnan(a):
        return [] if math.isnan(b) else [f"{path}: nan != {b!r}"]
    if isinstance(a, _SCALARS):
        return [] if a == b else [f"{path}: {a!r} != {b!r}"]
    if (id(a), id(b)) in seen:
        return []
    seen.add((id(a), id(b)))
    out: list[str] = []
    if isinstance(a, (list, tuple, deque)):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += _diff(x, y, f"{path}[{i}]", seen)
    if isinstance(a, dict):
        if list(a) != list(b):
            return [f"{path}: keys {list(a)} != {list(b)}"]
        for key in a:
            out += _diff(a[key], b[key], f"{path}[{key!r}]", seen)
    if hasattr(a, "__dict__"):
        if list(vars(a)) != list(vars(b)):
            return [*out, f"{path}: attributes {list(vars(a))} != {list(vars(b))}"]
        for key in vars(a):
            out += _diff(vars(a)[key], vars(b)[key], f"{path}.{key}", seen)
    elif not isinstance(a, (list, tuple, deque, dict)):
        out += [] if a == b else [f"{path}: {a!r} != {b!r}"]
    return out


def _home() -> Any:
    # The class whose ref counter orders draw from (tests and engine.py reset it on bt.Order).
    return next(k for k in bt.BuyOrder.__mro__ if "refbasis" in vars(k))


def _build_both(factory: OrderFactory, cls: Any, params: dict[str, Any]) -> tuple[Any, Any]:
    # The same ref for both: restart Backtrader's counter at the same value for each build.
    start = next(_home().refbasis)
    outcomes = []
    try:
        for build in (lambda: cls(**params), lambda: factory.new_order(cls, dict(params))):
            _home().refbasis = itertools.count(start)
            try:
                outcomes.append(("ok", build()))
            except Exception as exc:  # the same exception both ways
                outcomes.append(("raised", type(exc)))
            outcomes[-1] += (next(_home().refbasis),)
    finally:
        _home().refbasis = itertools.count(max(o[2] for o in outcomes))
    (kind_a, a, next_a), (kind_b, b, next_b) = outcomes
    assert (kind_a, next_a) == (kind_b, next_b), (params, outcomes)
    if kind_a == "raised":
        assert a is b
        return None, None
    return a, b


def _param_grid(data: Any, others: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
    dt0 = data.datetime.datetime(0)
    valids = [None, 0, 0.0, 1.5, 3, dt0 + timedelta(days=4), (dt0 + timedelta(days=2)).date(),
              timedelta(days=2), timedelta(), timedelta(hours=5)]
    exectypes = [None, *range(8)]
    prices = [(None, None), (0.0, None), (101.5, None), (99, None), (None, 98.0), (102.0, 103.5), (100.0, 0.0)]
    trails = [(None, None), (1.5, None), (None, 0.02), (2, 0.05)]
    sizes = [3, 2.5, 0, -4]
    links = [dict(parent=None, transmit=True, oco=None), dict(parent=None, transmit=False, oco=None)]
    if others:
        links += [dict(parent=others[0], transmit=True, oco=None), dict(parent=None, transmit=True, oco=others[-1]),
                  dict(parent=others[0], transmit=False, oco=others[-1])]
    grid = []
    rng = random.Random(11)
    for cls, exectype, valid, (price, plimit) in itertools.product(
            (bt.BuyOrder, bt.SellOrder), exectypes, valids, prices):
        trailamount, trailpercent = rng.choice(trails)
        params = dict(owner=None, data=data, size=rng.choice(sizes), price=price, pricelimit=plimit,
                      exectype=exectype, valid=valid, tradeid=rng.choice([0, 1]), trailamount=trailamount,
                      trailpercent=trailpercent, histnotify=rng.random() < 0.3, **rng.choice(links))
        grid.append((cls, params))
    for cls, (trailamount, trailpercent), size, link in itertools.product(
            (bt.BuyOrder, bt.SellOrder), trails, sizes, links):
        for exectype in (bt.Order.StopTrail, bt.Order.StopTrailLimit, bt.Order.Limit):
            grid.append((cls, dict(owner=None, data=data, size=size, price=100.0, pricelimit=99.5,
                                   exectype=exectype, valid=None, tradeid=0, trailamount=trailamount,
                                   trailpercent=trailpercent, **link)))
    return grid


class _Compare(bt.Strategy):
    params = (("bars", (1, 2, 5)),)

    def __init__(self) -> None:
        self.factory = OrderFactory()
        self.failures: list[str] = []
        self.checked = 0
        self.fast = 0

    def next(self) -> None:
        if len(self) not in self.p.bars:
            return
        for data in self.datas:
            others = [bt.BuyOrder(owner=self, data=data, size=1), bt.SellOrder(owner=self, data=data, size=2)]
            for cls, params in _param_grid(data, others):
                params["owner"] = self
                genuine, fast = _build_both(self.factory, cls, params)
                self.checked += 1
                self.fast += self.factory.covers(cls, params)
                self.failures += [f"{cls.__name__} {params}: {d}" for d in _diff(genuine, fast)][:3]


_MINUTES = make_ohlcv(60, seed=3, start=datetime(2022, 3, 1, 9, 30), step=timedelta(minutes=1))


def _run(feeds: list[Any]) -> _Compare:
    cerebro = bt.Cerebro(stdstats=False)
    for feed in feeds:
        cerebro.adddata(feed)
    cerebro.addstrategy(_Compare)
    return cerebro.run()[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("feed", [
    lambda: pandas_feed(make_ohlcv(30, seed=1)),  # daily, midnight stamps
    lambda: pandas_feed(make_ohlcv(30, seed=2), tz="US/Eastern", sessionend=time(15, 30)),
    lambda: pandas_feed(_MINUTES, timeframe=bt.TimeFrame.Minutes, sessionend=time(9, 31)),  # dteos the next day
    lambda: pandas_feed(_MINUTES, timeframe=bt.TimeFrame.Minutes, tz="Europe/London"),
], ids=["daily", "daily-tz-sessionend", "minutes-sessionend", "minutes-tz"])
def test_fast_order_when_built_over_parameter_grid_then_equals_genuine(feed: Any) -> None:
    assert (bt.__version__ == "1.9.78.123") == fast_orders.ENABLED
    strategy = _run([feed()])
    assert strategy.failures == []
    assert strategy.checked > 1500
    if fast_orders.ENABLED:  # Backtrader 1.9.78.123: the direct build covers nearly every case
        assert strategy.fast > 0.9 * strategy.checked


def test_fast_order_when_data_has_no_bar_or_other_arguments_then_genuine_outcome() -> None:
    factory = OrderFactory()
    unstarted = pandas_feed(make_ohlcv(10))
    cases = [
        (bt.BuyOrder, dict(owner=None, data=unstarted, size=1)),
        (bt.SellOrder, dict(owner=None, data=unstarted, size=1, exectype=bt.Order.Limit, price=10.0)),
        (bt.BuyOrder, dict(owner=None, data=unstarted, size=1, simulated=True, price=5.0)),
        (bt.SellOrder, dict(owner=None, data=unstarted, size=None, simulated=True)),
        (bt.BuyOrder, dict(owner=None, data=None, size=1)),
        (bt.BuyOrder, dict(owner=None, data=unstarted, size=1, unknown=3)),
    ]
    for cls, params in cases:
        genuine, fast = _build_both(factory, cls, params)
        assert _diff(genuine, fast) == []


def _executed_order(data: Any, cls: Any, size: float, fills: int) -> Any:
    order = cls(owner=None, data=data, size=size, exectype=bt.Order.Limit, price=100.0)
    order.submit()
    order.accept()
    order.info.note = "x"
    for i in range(fills):
        order.execute(730000.0 + i, size / 4, 100.0 + i, 0, 0.0, 0.0, size / 4, 25.0, 0.1, None, 0.0, size, 100.0)
    return order


def test_clone_order_when_cloned_repeatedly_then_equals_bt_clone() -> None:
    class _Clones(bt.Strategy):
        def next(self) -> None:
            if len(self) != 3:
                return
            self.failures: list[str] = []
            for cls, size, fills in itertools.product((bt.BuyOrder, bt.SellOrder), (4, 2.5), (0, 1, 3)):
                start = next(_home().refbasis)
                _home().refbasis = itertools.count(start)
                a = _executed_order(self.data, cls, size, fills)
                _home().refbasis = itertools.count(start)
                b = _executed_order(self.data, cls, size, fills)
                for round_ in range(3):  # clone, execute more, clone again: pending bits move on
                    ca, cb = a.clone(), clone_order(b)
                    self.failures += _diff((a, ca), (b, cb), f"round {round_}")
                    for original, clone in ((a, ca), (b, cb)):
                        assert type(clone) is type(original) and clone is not original
                        assert clone.executed is not original.executed
                        assert clone.executed.exbits is original.executed.exbits  # shared, as Backtrader
                        assert clone.created is original.created and clone.info is original.info
                        assert clone.params is original.params
                    assert len(ca.executed.getpending()) == len(cb.executed.getpending()) == (1 if round_ else fills)
                    for order in (a, b):
                        order.execute(731000.0 + round_, 1, 101.0, 0, 0.0, 0.0, 1, 101.0, 0.1, None, 0.0, 5, 100.0)
                a.cancel()
                b.cancel()
                self.failures += _diff((a, a.clone()), (b, clone_order(b)), "cancelled")

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(pandas_feed(make_ohlcv(10)))
    cerebro.addstrategy(_Clones)
    strategy = cerebro.run()[0]
    assert strategy.failures == []


def test_clone_order_when_not_a_plain_order_then_uses_its_clone() -> None:
    class _Mine(bt.BuyOrder):
        def clone(self) -> Any:
            return "own clone"

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(pandas_feed(make_ohlcv(5)))

    class _Strategy(bt.Strategy):
        def next(self) -> None:
            self.result = clone_order(_Mine(owner=self, data=self.data, size=1))

    cerebro.addstrategy(_Strategy)
    assert cerebro.run()[0].result == "own clone"


@pytest.mark.parametrize("exectype", [bt.Order.Market, bt.Order.Limit, bt.Order.StopTrail])
def test_fast_order_when_built_then_refs_follow_backtraders_counter(exectype: int) -> None:
    class _Refs(bt.Strategy):
        def next(self) -> None:
            if len(self) == 2:
                factory = OrderFactory()
                first = bt.BuyOrder(owner=self, data=self.data, size=1)
                second = factory.new_order(bt.SellOrder, dict(owner=self, data=self.data, size=1,
                                                              exectype=exectype, price=90.0, trailamount=1.0))
                third = bt.BuyOrder(owner=self, data=self.data, size=1)
                self.refs = (first.ref, second.ref, third.ref)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(pandas_feed(make_ohlcv(5)))
    cerebro.addstrategy(_Refs)
    first, second, third = cerebro.run()[0].refs
    assert (second, third) == (first + 1, first + 2)


def test_order_param_and_mark_submitted_when_compared_then_as_backtrader() -> None:
    class _Reads(bt.Strategy):
        def next(self) -> None:
            if len(self) != 3:
                return
            self.failures: list[str] = []
            valid = self.data.datetime.date(0) + timedelta(days=3)
            for cls, exectype in itertools.product((bt.BuyOrder, bt.SellOrder), (None, bt.Order.Limit)):
                params = dict(owner=self, data=self.data, size=2, price=50.0, exectype=exectype, valid=valid)
                a, b = _build_both(OrderFactory(), cls, params)
                for name in bt.Order.params._getkeys():
                    if order_param(b, name) != getattr(b, name) or order_param(a, name) != getattr(a, name):
                        self.failures.append(f"{cls.__name__} {name}")
                a.submit()
                mark_submitted(b, self.data)
                self.failures += _diff(a, b)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(pandas_feed(make_ohlcv(5)))
    cerebro.addstrategy(_Reads)
    assert cerebro.run()[0].failures == []
