"""Backtrader's own feed desynchronisation under ``exactbars=1`` (root cause of fuzz seed 4938).

With ``exactbars=1`` every line is a one-slot queue (``QBuffer``, ``lenmark`` 0). When a feed's next bar is
later than the master time, cerebro rewinds it; ``LineBuffer.set_idx`` ignores that rewind in ``QBuffer``
mode, so ``len(data)`` goes back while the lines keep showing the bar just loaded, and the bar before it is
gone. On the next cycle the feed loads yet another bar, again too late, again "rewound": from then on the
feed is never delivered. ``len(data)`` is frozen, ``tick_close`` (which BackBroker prices orders with) is
frozen at the last delivered bar, and ``close[0]`` / ``datetime[0]`` show a bar one step ahead of it.
This happens when two feeds' stamps interleave (a pandas daily feed stamped at midnight beside a CSV daily
feed stamped 23:59:59.999989, the latter starting later). There is no BackBroker semantics to match there.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import backtrader as bt

from tests.parity_fuzz import FeedSpec, Scenario
from tests.parity_fuzz_check import _feeds

# the two feeds of fuzz seed 4938: A pandas (midnight stamps), B CSV (23:59:59.999989, starts 3 days later)
_SCENARIO = Scenario(seed=4938, feeds=(
    FeedSpec(name="A", seed=163146, bars=76, bars_per_day=8),
    FeedSpec(name="B", seed=99497, bars=73, csv=True, drop=(30,), start_offset=3, bars_per_day=8),
), actions=())


class _Watch(bt.Strategy):  # type: ignore[misc]
    def __init__(self) -> None:
        self.seen: list[tuple[int, dt.date, float, float]] = []

    def next(self) -> None:
        a = self.datas[0]
        self.seen.append((len(a), a.datetime.date(0), float(a.close[0]), float(a.tick_close if a.tick_close is not None else 'nan')))


def _run(exactbars: int) -> list[tuple[int, dt.date, float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        cerebro = bt.Cerebro(exactbars=exactbars, stdstats=False)
        for data in _feeds(_SCENARIO, Path(folder))():
            cerebro.adddata(data)
        cerebro.addstrategy(_Watch)
        return list(cerebro.run()[0].seen)


def test_backtrader_when_exactbars_1_and_feed_stamps_interleave_then_rewound_feed_stays_desynchronised() -> None:
    seen = _run(1)
    stuck = seen[:20]
    # len(A) no longer grows and tick_close (BackBroker's execution price) stays at the last delivered bar,
    # 2021-01-07's close 114.9375 ...
    assert {s[0] for s in stuck} == {4}
    assert {s[3] for s in stuck} == {114.9375}
    # ... while datetime[0] and close[0] walk on, one bar ahead (fuzz seed 4938's StopTrail was trailed
    # by BackBroker with 114.9375 on A's "2021-01-22" bar, whose close is 116.625)
    assert [s[1] for s in stuck] == sorted({s[1] for s in stuck}) and stuck[0][1] == dt.date(2021, 1, 8)
    assert (4, dt.date(2021, 1, 22), 116.625, 114.9375) in stuck


def test_backtrader_when_exactbars_false_and_feed_stamps_interleave_then_feed_delivered_normally() -> None:
    seen = _run(False)
    assert all(s[2] == s[3] for s in seen if s[3] == s[3]), seen
    assert [s[0] for s in seen] == sorted(s[0] for s in seen) and seen[-1][0] == 76
