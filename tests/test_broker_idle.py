"""The broker's cheap cycles give what the full ones give.

A cycle without bars to pass (no order, no position, no risk engine) only moves an
idle simulator's clock (``ExecutionSimulator.advance_idle``), and daily bars are
timed from their day number without converting it to a datetime. Each test runs
the same scenario with those shortcuts and without them (``advance_idle`` never
idle: every cycle is a full ``process_market_data``) or against the plain
conversion, and asserts the results are identical, and that the shortcut was taken.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import backtrader as bt
import pandas as pd
import pytest
from backtrader.utils.dateintern import num2date

from finbot_bt import FinbotBroker
from finbot_bt.broker.bars import BarFeeder
from finbot_bt.broker.symbols import SymbolTable
from finbot_bt.broker.translate import core_time
from finbot_bt.contracts.latency import resolve_latency
from finbot_bt.contracts.market import Bar, trusted_bar
from finbot_bt.contracts.risk import OrderSizeRule, RiskConfig
from finbot_bt.execution.simulator import ExecutionSimulator
from tests.bt_harness import Keep, make_ohlcv, pandas_feed, run
from tests.factories import d, simulator

FRAME = make_ohlcv(40, seed=11)
O = bt.Order  # noqa: E741


def _plan() -> dict[int, list[Any]]:
    """Idle bars, then orders, then idle again (flat), a deposit and a withdrawal while idle.

    At bar 30 the account can pay for 90 shares only if the cancelled order of bar 28 no longer
    counts against its funds (a new batch of funds checks started with the cycle in between).
    """
    return {
        3: [lambda s: s.broker.add_cash(500.0)],
        6: [lambda s: s.buy(size=5)],
        8: [lambda s: s.sell(size=5)],
        12: [lambda s: s.broker.add_cash(-250.5)],
        15: [lambda s: s.buy(size=2, exectype=O.Limit, price=s.data.close[0] * 0.5, valid=dt.timedelta(days=3))],
        24: [lambda s: s.buy(size=3, exectype=O.Limit, price=s.data.close[0] * 1.5)],
        26: [lambda s: s.close()],
        28: [_buy_and_cancel],  # the funds check counted it: the next cycle must start a new batch
        30: [lambda s: s.buy(size=90)],
        32: [lambda s: s.close()],
        33: [lambda s: s.broker.add_cash(100.0)],
    }


def _buy_and_cancel(strategy: Any) -> None:
    strategy.cancel(strategy.buy(size=90))


def _scenario(factory: Keep) -> dict[str, Any]:
    clocks: list[Any] = []

    def note(s: Any) -> None:
        clocks.append((s.broker.sim.clock, s.broker._bars.now, s.broker.getcash(), s.broker.getvalue()))

    plan = _plan()
    for bar in range(1, len(FRAME) + 1):
        plan.setdefault(bar, []).append(note)
    result = run(factory, lambda: [pandas_feed(FRAME, name="A")], plan)
    broker = factory.broker
    result["clocks"] = clocks
    result["equity_curve"] = list(broker.equity_curve)
    result["equity_frame"] = broker.equity_frame() if hasattr(broker, "equity_frame") else None
    result["events"] = [(type(e).__name__, e.timestamp, getattr(e, "order_id", None)) for e in broker.events]
    result["sim_clock"] = broker.sim.clock
    result["sim_cash"] = broker.sim.cash
    return result


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    taken: list[bool] = []
    real = ExecutionSimulator.advance_idle

    def advance_idle(self: ExecutionSimulator, timestamp: dt.datetime) -> bool:
        done = real(self, timestamp)
        taken.append(done)
        return done

    monkeypatch.setattr(ExecutionSimulator, "advance_idle", advance_idle)
    return taken


def _never_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExecutionSimulator, "advance_idle", lambda self, timestamp: False)


@pytest.mark.parametrize("latency", [None, "normal"])
def test_idle_cycles_when_orders_arrive_later_then_everything_is_as_with_full_market_updates(
        monkeypatch: pytest.MonkeyPatch, latency: str | None) -> None:
    with monkeypatch.context() as patch:
        _never_idle(patch)
        slow = _scenario(Keep(latency=latency))
    with monkeypatch.context() as patch:
        taken = _counting(patch)
        fast = _scenario(Keep(latency=latency))
    assert all(taken) and 0 < len(taken) < len(FRAME)  # idle cycles before, between and after the orders
    assert len(fast["log"]) >= 6  # the orders did trade / expire / cancel
    for key in slow:
        if key == "equity_frame":
            continue
        assert fast[key] == slow[key], key
    if slow["equity_frame"] is not None:
        pd.testing.assert_frame_equal(fast["equity_frame"], slow["equity_frame"])


def test_idle_cycles_when_a_risk_engine_watches_then_every_cycle_is_a_full_market_update(
        monkeypatch: pytest.MonkeyPatch) -> None:
    taken = _counting(monkeypatch)
    _scenario(Keep(risk=RiskConfig(order_size=OrderSizeRule(max_order_quantity=d(100)))))
    assert taken == []  # every cycle has bars: the risk engine watches equity


def _checkpoint_state(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "journal" not in p.name and p.suffix != ".lock")
    assert files, "no checkpoint written"
    return files[-1].read_text(encoding="utf-8", errors="replace")


def test_idle_cycles_when_checkpoints_are_taken_while_idle_then_they_hold_what_full_updates_give(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    kwargs = dict(checkpoint_dir=None, simulator_id="idle", checkpoint_every=4, keep_last=None, journal=False)
    states = {}
    for name in ("slow", "fast"):
        with monkeypatch.context() as patch:
            if name == "slow":
                _never_idle(patch)
            else:
                taken = _counting(patch)
            folder = tmp_path / name
            kwargs["checkpoint_dir"] = folder
            _scenario(Keep(**kwargs))
        states[name] = {p.relative_to(folder).as_posix(): p.read_bytes()
                        for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix != ".lock"}
    assert any(taken)
    assert len(states["fast"]) >= 5
    assert states["fast"] == states["slow"]


def test_idle_cycles_when_a_run_resumes_from_a_checkpoint_taken_while_idle_then_it_ends_as_one_run(
        tmp_path: Path) -> None:
    whole = _scenario(Keep())
    first = Keep(checkpoint_dir=tmp_path, simulator_id="r", resume=True, journal=False)
    cerebro = bt.Cerebro()
    cerebro.adddata(pandas_feed(FRAME.iloc[:20], name="A"))  # bar 20: idle (flat, nothing working)
    cerebro.setbroker(first())
    cerebro.addstrategy(_Replay, plan=_plan())
    cerebro.run()
    assert first.broker.sim.open_orders() == [] and not first.broker.sim.positions()
    second = Keep(checkpoint_dir=tmp_path, simulator_id="r", resume=True, journal=False)
    cerebro = bt.Cerebro()
    cerebro.adddata(pandas_feed(FRAME, name="A"))
    cerebro.setbroker(second())
    cerebro.addstrategy(_Replay, plan=_plan())
    cerebro.run()
    assert second.broker.resumed
    assert second.broker.sim.clock == whole["sim_clock"]
    assert second.broker.sim.cash == whole["sim_cash"]
    assert second.broker.equity_curve == whole["equity_curve"][20:]


class _Replay(bt.Strategy):
    params = (("plan", None),)

    def next(self) -> None:
        # The bar's number in FRAME: a resumed session skips the bars the checkpoint processed.
        bar = FRAME.index.get_loc(pd.Timestamp(self.data.datetime.date(0))) + 1
        for action in self.p.plan.get(bar, ()):
            action(self)


# ---------------------------------------------------------------------- daily timestamps


def _stamped_daily_frame() -> pd.DataFrame:
    """Daily bars two days apart, stamped at times of day across the whole day, near midnight too."""
    times = [dt.time(0, 0), dt.time(12, 0), dt.time(23, 45), dt.time(16, 0), dt.time(23, 59, 59, 999999),
             dt.time(0, 0, 0, 1), dt.time(23, 59, 59, 999989), dt.time(9, 30), dt.time(23, 44, 59)]
    frame = make_ohlcv(len(times) * 3, seed=5)
    start = dt.datetime(2020, 2, 27)
    frame.index = pd.DatetimeIndex([dt.datetime.combine((start + dt.timedelta(days=2 * i)).date(),
                                                        times[i % len(times)]) for i in range(len(frame))])
    return frame


class _MinusFive(dt.tzinfo):
    """A fixed UTC-5 zone Backtrader can take (it sets ``localize`` on the zone object)."""

    def utcoffset(self, when: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(hours=-5)

    def dst(self, when: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)

    def tzname(self, when: dt.datetime | None) -> str:
        return "UTC-5"


@pytest.mark.parametrize("tz", [None, _MinusFive()])
@pytest.mark.parametrize("session_close", [dt.time(16, 0), dt.time(23, 59, 59, 999999)])
def test_daily_timestamps_when_bars_are_stamped_at_any_time_of_day_then_each_is_its_dates_session_close(
        tz: Any, session_close: dt.time) -> None:
    seen: list[tuple[Any, Any, Any]] = []

    def note(s: Any) -> None:
        bars = s.broker._bars
        seen.append((bars.last_ts[s.data], core_time(s.data.datetime.datetime(0), True, session_close), bars.now))

    frame = _stamped_daily_frame()
    factory = Keep(session_close=session_close)
    kwargs = {} if tz is None else {"tz": tz}
    run(factory, lambda: [pandas_feed(frame, name="D", **kwargs)],
        {n: [note] for n in range(1, len(frame) + 1)})
    assert len(seen) == len(frame)
    assert [got for got, _, _ in seen] == [expected for _, expected, _ in seen]
    assert [now for _, _, now in seen] == [expected for _, expected, _ in seen]
    assert [ts for ts, _, _ in factory.broker.equity_curve] == [expected for _, expected, _ in seen]


def test_daily_timestamps_when_feeds_share_a_calendar_then_each_gets_its_own_dates_close() -> None:
    seen: list[list[tuple[Any, Any]]] = []
    late = make_ohlcv(30, seed=3, start=dt.datetime(2021, 1, 6))  # the same calendar, two days later

    def note(s: Any) -> None:
        bars = s.broker._bars
        seen.append([(bars.last_ts[data], core_time(data.datetime.datetime(0), True, dt.time(16, 0)))
                     for data in s.datas if len(data)])

    plan = {n: [note] for n in range(1, 31)}
    plan[4] = [lambda s: s.buy(data=s.datas[1], size=1), note]  # a position: its bars reach the simulator
    run(Keep(), lambda: [pandas_feed(make_ohlcv(30, seed=2), name="A"), pandas_feed(late, name="B")], plan)
    assert seen and all(got == expected for bar in seen for got, expected in bar)


# ---------------------------------------------------------------------- bars built without validation


def test_trusted_bar_when_built_then_it_equals_the_validated_bar_and_stays_frozen() -> None:
    at, opened = dt.datetime(2021, 1, 4, 16), dt.datetime(2021, 1, 4, 9, 30)
    bar = trusted_bar(d(10), d(12), d(9), d(11), at, d(500), opened, True)
    assert bar == Bar(open=d(10), high=d(12), low=d(9), close=d(11), timestamp=at, volume=d(500),
                      open_time=opened, session_close=True)
    assert type(bar) is Bar
    with pytest.raises(AttributeError):
        bar.close = d(1)  # type: ignore[misc]


def test_feeds_when_datas_share_their_current_datetime_then_each_is_listed_once_in_order() -> None:
    factory = Keep()
    order: list[list[str]] = []

    def note(s: Any) -> None:
        order.append([data._name for data in s.broker._bars.feeds()])

    run(factory, lambda: [pandas_feed(FRAME, name=n) for n in ("A", "B", "C")],
        {1: [lambda s: s.buy(data=s.datas[2], size=1), lambda s: s.buy(data=s.datas[0], size=1), note],
         5: [note]})
    assert order == [["A", "B", "C"], ["A", "B", "C"]]


def test_get_notification_when_empty_then_none() -> None:
    broker = FinbotBroker()
    broker.init()
    assert broker.get_notification() is None
    broker.notifs.append("x")
    assert broker.get_notification() == "x"
    assert broker.get_notification() is None


# ---------------------------------------------------------------------- BarFeeder on hand-made feeds


class _Line:
    """A Backtrader line as BarFeeder reads it: ``[0]``/``[1]``, ``len``, ``_tz`` and ``datetime(0)``."""

    def __init__(self, values: list[float], tz: Any = None) -> None:
        self.values, self.at, self._tz = values, 0, tz

    def __getitem__(self, ago: int) -> float:
        return self.values[self.at + ago]

    def __len__(self) -> int:
        return self.at + 1

    def datetime(self, ago: int = 0) -> dt.datetime:
        return num2date(self[ago], tz=self._tz)


class _Data:
    """A daily feed of hand-made day numbers (prices from 100 up)."""

    _timeframe = bt.TimeFrame.Days

    def __init__(self, name: str, nums: list[float]) -> None:
        self._name = name
        self.datetime = _Line(nums)
        prices = [100.0 + i for i in range(len(nums))]
        self.open, self.high, self.low, self.close = (_Line(prices) for _ in range(4))
        self.volume = _Line([1000.0] * len(nums))
        self.lines_ = (self.datetime, self.open, self.high, self.low, self.close, self.volume)

    def step(self) -> None:
        for line in self.lines_:
            line.at += 1


def test_bar_feeder_when_day_numbers_differ_within_a_cycle_or_round_over_midnight_then_as_num2date() -> None:
    # Before year 1435 a day number just below an integer is num2date's next day (its rounding carries
    # 23:59:59.99999x over midnight): the day number alone would give the wrong date.
    late = math.nextafter(500004.0, 0.0)
    assert num2date(late).date() == dt.date.fromordinal(500004)
    a = _Data("A", [500000.5, 500002.25, late, 500006.0])
    b = _Data("B", [500001.75, 500003.5, math.nextafter(500006.0, 0.0), 500007.9])
    session_open, session_close = dt.time(9, 30), dt.time(16, 0)
    # A risk engine watches equity: every new bar reaches the simulator, with its open time.
    sim = simulator(risk=RiskConfig(order_size=OrderSizeRule(max_order_quantity=d(100))))
    host = SimpleNamespace(p=SimpleNamespace(session_open=session_open, session_close=session_close), sim=sim,
                           cerebro=SimpleNamespace(datas=[a, b]))
    feeder = BarFeeder(host, SymbolTable(lambda data: bt.CommInfoBase()), resolve_latency(None))
    last: dict[Any, dt.datetime] = {}
    for cycle in range(4):
        if cycle:
            a.step()
            b.step()
        floor = feeder.now  # instant latency: a bar opens no earlier than the last cycle
        assert feeder.feed({}) is True
        for data in (a, b):
            expected = core_time(num2date(data.datetime[0]), True, session_close)
            assert feeder.last_ts[data] == expected
            bar = sim.market.last_bar[data._name]
            assert bar.timestamp == expected
            opened = min(expected, dt.datetime.combine(expected.date(), session_open))
            previous = last.get(data)
            if previous is not None and floor is not None and previous < floor <= expected:
                previous = floor
            assert bar.open_time == (previous if previous is not None and opened < previous else opened)
            last[data] = expected
        assert feeder.now == max(last.values())
