"""BarFeeder: each cycle's bars of every feed, stamped in simulated time, to the simulator."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.broker.bars import BarFeeder
from finbot_bt.broker.symbols import SymbolTable
from finbot_bt.contracts.latency import resolve_latency
from tests.bt_harness import Keep, make_ohlcv, pandas_feed, run
from tests.factories import simulator

FRAME = make_ohlcv(20, seed=2)


def test_bar_feeder_when_no_feed_has_a_bar_then_nothing_reaches_the_simulator() -> None:
    sim = simulator()
    host = SimpleNamespace(p=SimpleNamespace(session_open=time(9, 30), session_close=time(16, 0)), sim=sim)
    feeder = BarFeeder(host, SymbolTable(lambda data: bt.CommInfoBase()), resolve_latency(None))
    assert feeder.feed({}) is False
    assert (feeder.now, sim.clock) == (None, None)


def test_bar_feeder_when_daily_bars_run_then_each_is_stamped_at_the_session_close() -> None:
    factory = Keep(session_close=time(17, 30))
    seen: list[tuple[Any, Any]] = []

    def note(s: Any) -> None:
        bars = s.broker._bars
        seen.append((bars.now, bars.last_len[s.data]))

    run(factory, lambda: [pandas_feed(FRAME, name="A")], {n: [note] for n in (1, 2, 20)})
    days = [FRAME.index[i].to_pydatetime().replace(hour=17, minute=30) for i in (0, 1, 19)]
    # The strategy runs after the broker's cycle of its bar (the broker saw that bar already).
    assert seen == [(days[0], 1), (days[1], 2), (days[2], 20)]
    assert factory.broker._bars.now == days[2]


def test_bar_feeder_when_a_daily_feed_has_minute_bars_then_it_is_timed_as_intraday_with_a_warning() -> None:
    minutes = make_ohlcv(10, seed=4, start=datetime(2021, 3, 1, 9, 35), step=timedelta(minutes=5))
    factory = Keep()
    with pytest.warns(UserWarning, match="5 minutes apart"):
        run(factory, lambda: [pandas_feed(minutes, name="M")], {})
    bars = factory.broker._bars
    data = next(iter(bars.intraday))
    assert bars.is_daily(data) is False
    assert bars.now == minutes.index[-1].to_pydatetime()


def test_bar_feeder_when_an_order_names_a_data_cerebro_does_not_have_then_it_is_fed_too() -> None:
    broker = FinbotBroker()
    broker.init()
    outsider = type("Feed", (), {"_name": "X"})()
    broker._symbols.symbol(outsider)
    assert broker._bars.feeds() == [outsider]
