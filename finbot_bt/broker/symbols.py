"""Feed names and instrument terms: which core symbol stands for each Backtrader data.

A data is named after ``data._name`` (``data0``, ``data1``, ... when it has
none; ``name#2`` when two feeds share a name). Its instrument terms (multiplier,
margin) come from the broker's Backtrader commission scheme for that data and
are sent to the simulator before an order is placed, unless a position or an
open order already trades under the current ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from finbot_bt.broker.convert import to_decimal
from finbot_bt.contracts.positions import Instrument
from finbot_bt.execution.simulator import ExecutionSimulator


class SymbolTable:
    """The symbols of one run's feeds, both ways, and the instrument terms last sent for each.

    Parameters
    ----------
    comminfo : callable
        The broker's ``getcommissioninfo(data)``.
    """

    __slots__ = ("_comminfo", "datas", "instrument_keys", "symbols")

    def __init__(self, comminfo: Callable[[Any], Any]) -> None:
        self._comminfo = comminfo
        self.symbols: dict[Any, str] = {}
        self.datas: dict[str, Any] = {}
        self.instrument_keys: dict[str, tuple[Any, Any]] = {}

    def symbol(self, data: Any) -> str:
        """The symbol of ``data``, named on first sight."""
        symbol = self.symbols.get(data)
        if symbol is None:
            base = getattr(data, "_name", "") or f"data{len(self.symbols)}"
            symbol = base
            n = 1
            while symbol in self.datas:
                n += 1
                symbol = f"{base}#{n}"
            self.symbols[data] = symbol
            self.datas[symbol] = data
        return symbol

    def comminfo_for_symbol(self, symbol: str) -> Any:
        """The Backtrader commission scheme of ``symbol``'s data."""
        return self._comminfo(self.datas[symbol])

    def sync_instrument(self, sim: ExecutionSimulator, symbol: str, data: Any) -> None:
        """Send ``data``'s instrument terms to ``sim`` if they changed and nothing trades under the old ones."""
        comminfo = self._comminfo(data)
        margin = None if comminfo.stocklike else comminfo.get_margin(data.close[0])
        key = (comminfo.p.mult, margin)
        if self.instrument_keys.get(symbol) == key:
            return
        position = sim.portfolio.positions.get(symbol)
        if (position is not None and position.quantity != 0) or sim.open_orders(symbol):
            return  # terms cannot change under an open position; keep the first ones
        sim.set_instrument(Instrument(
            symbol=symbol, multiplier=to_decimal(comminfo.p.mult),
            margin=None if margin is None else to_decimal(margin),
        ))
        self.instrument_keys[symbol] = key
