"""OrderHistory: ``cerebro.add_order_history`` entries placed as their data reaches them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import backtrader as bt
import pytest

from finbot_bt.broker.history import OrderHistory, history_time


@pytest.mark.parametrize(("value", "expected"), [
    ("2021-03-04", datetime(2021, 3, 4)),
    ("2021-03-04T10:30:00", datetime(2021, 3, 4, 10, 30)),
    ("2021-03-04T10:30:00.250000", datetime(2021, 3, 4, 10, 30, 0, 250000)),
    (datetime(2021, 3, 4, 9, 0), datetime(2021, 3, 4, 9, 0)),
    (date(2021, 3, 4), datetime(2021, 3, 4)),
], ids=["date-string", "datetime-string", "microseconds", "datetime", "date"])
def test_history_time_when_given_backbrokers_formats_then_reads_each(value: Any, expected: datetime) -> None:
    assert history_time(value) == expected


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def datetime(self) -> datetime:
        return self.now


class _Data:
    def __init__(self, now: datetime, bars: int = 1) -> None:
        self.datetime = _Clock(now)
        self.bars = bars

    def __len__(self) -> int:
        return self.bars


class _Cerebro:
    def __init__(self, datas: list[_Data]) -> None:
        self.datas = datas
        self.datasbyname = {"B": datas[-1]}
        self.runningstrats = ["strategy"]


class _Broker:
    def __init__(self, datas: list[_Data]) -> None:
        self.cerebro = _Cerebro(datas)
        self.placed: list[tuple[str, dict[str, Any]]] = []

    def buy(self, **kwargs: Any) -> None:
        self.placed.append(("buy", kwargs))

    def sell(self, **kwargs: Any) -> None:
        self.placed.append(("sell", kwargs))


def test_order_history_when_entries_are_due_then_each_is_placed_as_a_historical_order() -> None:
    data = _Data(datetime(2021, 3, 5))
    broker, history = _Broker([data]), OrderHistory()
    history.add([("2021-03-04", 10, 101.5), ("2021-03-05", -4, 103.0), ("2021-03-08", 2, 99.0)], notify=False)
    history.place_due(broker)
    assert [(side, kw["size"], kw["price"]) for side, kw in broker.placed] == [("buy", 10, 101.5), ("sell", 4, 103.0)]
    first = broker.placed[0][1]
    assert first["exectype"] == bt.Order.Historical
    assert first["owner"] == "strategy" and first["data"] is data
    assert first["histnotify"] is False and first["_checksubmit"] is False
    broker.placed.clear()
    history.place_due(broker)
    assert broker.placed == []  # the 2021-03-08 entry waits for its data
    data.datetime.now = datetime(2021, 3, 8)
    history.place_due(broker)
    assert [(side, kw["size"]) for side, kw in broker.placed] == [("buy", 2)]


def test_order_history_when_an_entry_names_its_data_then_it_waits_for_that_data() -> None:
    early, late = _Data(datetime(2021, 3, 9)), _Data(datetime(2021, 3, 1))
    broker, history = _Broker([early, late]), OrderHistory()
    history.add([("2021-03-04", 1, 10.0, "B")], notify=True)
    history.add([("2021-03-04", 1, 10.0, 0)], notify=True)
    history.place_due(broker)
    assert [kw["data"] for _, kw in broker.placed] == [early]
    late.datetime.now = datetime(2021, 3, 4)
    history.place_due(broker)
    assert [kw["data"] for _, kw in broker.placed] == [early, late]


def test_order_history_when_an_entry_has_size_zero_then_it_is_skipped() -> None:
    broker, history = _Broker([_Data(datetime(2021, 3, 9))]), OrderHistory()
    history.add([("2021-03-04", 0, 10.0), ("2021-03-05", 3, 11.0)], notify=True)
    history.place_due(broker)
    assert [kw["size"] for _, kw in broker.placed] == [3]
    assert history.entries[0][0] is None  # both consumed


def test_order_history_when_the_data_has_no_bar_yet_then_nothing_is_placed() -> None:
    broker, history = _Broker([_Data(datetime(2021, 3, 9), bars=0)]), OrderHistory()
    history.add([("2021-03-04", 1, 10.0)], notify=True)
    history.place_due(broker)
    assert broker.placed == []
