"""BackBroker's cash, value and fund mode on FinbotBroker.

The simulator keeps the money (Decimal); Backtrader reads it as floats that
change once a cycle, as BackBroker's do: ``cash`` and the portfolio value are
refreshed at the end of each ``next()``, deposits (``add_cash``) are booked at
the next cycle, and fund mode counts shares at the fund value of each deposit.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from finbot_bt.broker.bars import BarFeeder
from finbot_bt.broker.convert import config_decimal, to_decimal, to_float
from finbot_bt.execution.simulator import ExecutionSimulator


class BackBrokerAccount:
    """Mixin of FinbotBroker: cash, value and fund mode as BackBroker reports them."""

    p: Any
    sim: ExecutionSimulator
    cash: float
    startingcash: float
    positions: Any
    equity_curve: list[tuple[datetime, float, float]]
    _value: float
    _cash_converted: tuple[Decimal | None, float]  # the simulator's cash last seen, as a float
    _fundshares: float
    _fundval: float
    _cash_addition: collections.deque[float]
    _bars: BarFeeder
    getcommissioninfo: Callable[[Any], Any]  # Backtrader's BrokerBase.getcommissioninfo

    # ------------------------------------------------------------------ cash
    def set_cash(self, cash: float) -> None:
        """Set starting cash (as BackBroker: also survives ``start()``)."""
        amount = config_decimal("cash", cash)
        self.p.cash = cash
        self.startingcash = self.cash = self._value = cash
        self.sim.portfolio.cash = amount
        self.sim.initial_cash = amount

    setcash = set_cash

    def add_cash(self, cash: float) -> None:
        """Deposit (or withdraw, negative) cash at the next bar, as BackBroker does."""
        config_decimal("cash", cash)
        self._cash_addition.append(float(cash))

    def getcash(self) -> float:
        """Cash, as of the last bar (BackBroker semantics)."""
        return self.cash

    get_cash = getcash

    def getvalue(self, datas: Any = None, mkt: bool = False, lever: bool = False) -> float:
        """Portfolio value (cached at each bar), or the position value of ``datas``.

        As BackBroker, valuing ``datas`` first books pending ``add_cash`` amounts
        (``order_target_value``/``order_target_percent`` see a deposit at once).
        """
        if datas is None:
            if mkt:
                return self._value - self.cash
            return self._value
        if self._cash_addition:
            self._apply_cash_additions()
            self.cash = to_float(self.sim.cash)
        total = 0.0
        for data in datas:
            comminfo = self.getcommissioninfo(data)
            total += comminfo.getvaluesize(self.positions[data].size, data.close[0])
        if len(datas) == 1:
            return total
        return self.cash + total

    get_value = getvalue

    def get_value_lever(self, datas: Any = None, mkt: bool = False) -> float:
        return self.getvalue(datas=datas, mkt=mkt)

    def _apply_cash_additions(self) -> None:
        while self._cash_addition:
            amount = self._cash_addition.popleft()
            self._fundshares += amount / self._fundval
            self.sim.add_cash(to_decimal(amount))

    def _refresh_value(self) -> None:
        cash = self.sim.cash
        if cash is not self._cash_converted[0]:  # the same Decimal: the same float
            self._cash_converted = (cash, to_float(cash))
        self.cash = value = self._cash_converted[1]
        positions = self.positions
        if positions:
            lines, commission_of = self._bars.lines, self.getcommissioninfo
            for data, position in positions.items():
                size = position.size
                if size:
                    value += commission_of(data).getvaluesize(size, lines(data)[4][0])  # at the close
        self._value = value
        self._fundval = value / self._fundshares if self._fundshares else self._fundval
        if self.p.record_events and self._bars.now is not None:
            self.equity_curve.append((self._bars.now, self.cash, value))

    # ------------------------------------------------------------------ fund mode
    def set_fundmode(self, fundmode: bool, fundstartval: float | None = None) -> None:
        self.p.fundmode = fundmode
        if fundstartval is not None:
            self.set_fundstartval(fundstartval)

    def set_fundstartval(self, fundstartval: float) -> None:
        self.p.fundstartval = fundstartval
        self._fundval = float(fundstartval)
        self._fundshares = self.cash / fundstartval

    def get_fundmode(self) -> bool:
        return bool(self.p.fundmode)

    fundmode = property(get_fundmode, set_fundmode)

    def get_fundshares(self) -> float:
        return float(self._fundshares)

    fundshares = property(get_fundshares)

    def get_fundvalue(self) -> float:
        return float(self._fundval)

    fundvalue = property(get_fundvalue)

    def get_leverage(self) -> float:
        return 1.0
