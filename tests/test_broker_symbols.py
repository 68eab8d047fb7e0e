"""SymbolTable: feed names, both ways, and the instrument terms sent to the simulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import backtrader as bt

from finbot_bt.broker.symbols import SymbolTable
from tests.factories import simulator


class _Data:
    def __init__(self, name: str = "", close: float = 100.0) -> None:
        self._name = name
        self.close = [close]


def test_symbol_table_when_data_has_no_name_then_it_is_named_by_its_position() -> None:
    table = SymbolTable(lambda data: bt.CommInfoBase())
    first, second = _Data(), _Data()
    assert table.symbol(first) == "data0"
    assert table.symbol(second) == "data1"
    assert table.symbol(first) == "data0"
    assert table.datas == {"data0": first, "data1": second}


def test_symbol_table_when_two_feeds_share_a_name_then_the_later_ones_get_a_suffix() -> None:
    table = SymbolTable(lambda data: bt.CommInfoBase())
    feeds = [_Data("SPY"), _Data("SPY"), _Data("SPY")]
    assert [table.symbol(data) for data in feeds] == ["SPY", "SPY#2", "SPY#3"]
    assert [table.datas[s] for s in ("SPY", "SPY#2", "SPY#3")] == feeds


def test_symbol_table_when_asked_for_a_symbols_scheme_then_it_is_its_datas() -> None:
    schemes: dict[Any, Any] = {}
    table = SymbolTable(schemes.__getitem__)
    data = _Data("ES")
    schemes[data] = bt.CommInfoBase(mult=50.0)
    table.symbol(data)
    assert table.comminfo_for_symbol("ES") is schemes[data]


def test_symbol_table_when_terms_change_with_nothing_open_then_the_new_ones_are_sent() -> None:
    schemes: dict[Any, Any] = {}
    table, sim, data = SymbolTable(schemes.__getitem__), simulator(), _Data("ES", close=4000.0)
    schemes[data] = bt.CommInfoBase(mult=2.0)
    table.sync_instrument(sim, "ES", data)
    assert sim.instrument("ES").multiplier == Decimal(2)
    assert sim.instrument("ES").margin is None
    schemes[data] = bt.CommInfoBase(stocklike=False, margin=1500.0, mult=50.0)
    table.sync_instrument(sim, "ES", data)
    assert sim.instrument("ES").multiplier == Decimal(50)
    assert sim.instrument("ES").margin == Decimal(1500)
    assert table.instrument_keys["ES"] == (50.0, 1500.0)


def test_symbol_table_when_terms_are_unchanged_then_nothing_is_sent_again() -> None:
    sent: list[Any] = []
    sim = simulator()
    original = sim.set_instrument

    def spy(instrument: Any) -> None:
        sent.append(instrument)
        original(instrument)

    sim.set_instrument = spy  # type: ignore[method-assign]
    table, data = SymbolTable(lambda d: bt.CommInfoBase(mult=3.0)), _Data("X")
    table.sync_instrument(sim, "X", data)
    table.sync_instrument(sim, "X", data)
    assert [i.multiplier for i in sent] == [Decimal(3)]
