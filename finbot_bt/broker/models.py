"""Core cost models backed by Backtrader objects (commission schemes, fillers, slippage params)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import backtrader as bt

from finbot_bt.broker.convert import config_decimal, to_decimal, to_float
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.positions import Instrument
from finbot_bt.execution.commission import CommissionModel
from finbot_bt.execution.fills import VolumeCap
from finbot_bt.execution.slippage import (
    FixedAmountSlippage,
    NoSlippage,
    PercentSlippage,
    SlippageModel,
)

ZERO = Decimal(0)
_BASE_GETCOMMISSION = bt.CommInfoBase._getcommission
_BASE_GETCOMMISSION_PUBLIC = bt.CommInfoBase.getcommission


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktraderCommission(CommissionModel):
    """Commission from the data's Backtrader ``CommInfoBase``: ``comminfo.getcommission(q, p)``.

    ``resolve`` maps a symbol to its commission scheme (the broker's
    ``getcommissioninfo``), so ``setcommission`` made in a strategy's
    ``start()`` applies, custom ``_getcommission`` overrides included.
    """

    resolve: Callable[[str], Any]

    def commission(
        self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool
    ) -> Decimal:
        comminfo = self.resolve(instrument.symbol)
        scheme = type(comminfo)
        if scheme._getcommission is _BASE_GETCOMMISSION and scheme.getcommission is _BASE_GETCOMMISSION_PUBLIC:
            # Backtrader's own formula, computed exactly: |q| * rate (* price for COMM_PERC).
            rate = to_decimal(comminfo.p.commission)
            if comminfo._commtype == bt.CommInfoBase.COMM_PERC:
                return abs(quantity * rate * price)
            return abs(quantity * rate)
        value = comminfo.getcommission(to_float(quantity), to_float(price))  # a custom scheme
        return to_decimal(abs(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktraderFillerCap(VolumeCap):
    """A Backtrader filler (``filler(order, price, ago) -> size``) as a core volume cap."""

    filler: Any
    resolve_order: Callable[[str], Any]
    # Told each size the filler returns (BackBroker's executed sizes take its type: int or float).
    note_size: Callable[[str, Any], None] | None = None
    # The simulated time of a data's current bar: a bar before it is the filler's ``ago=-1``.
    current_time: Callable[[Any], datetime | None] | None = None

    def available(
        self, order: Order, remaining: Decimal, price: Decimal, bar: Bar, used: Decimal
    ) -> Decimal:
        bt_order = self.resolve_order(order.order_id)
        if bt_order is None:
            return remaining
        ago = 0
        if self.current_time is not None:
            current = self.current_time(bt_order.data)
            if current is not None and bar.timestamp < current:
                ago = -1
        size = self.filler(bt_order, to_float(price), ago)
        if self.note_size is not None:
            self.note_size(order.order_id, size)
        return max(ZERO, min(remaining, to_decimal(abs(size))))


def backbroker_slippage(
    slip_perc: float, slip_fixed: float, slip_open: bool, slip_limit: bool, slip_match: bool, slip_out: bool
) -> SlippageModel:
    """BackBroker's slippage params as a core model (``slip_perc`` wins over ``slip_fixed``)."""
    flags = {"at_open": slip_open, "on_limit": slip_limit, "cap_to_bar": slip_match,
             "allow_outside_bar": slip_out}
    if slip_perc:
        return PercentSlippage(rate=config_decimal("slip_perc", slip_perc), **flags)
    if slip_fixed:
        return FixedAmountSlippage(amount=config_decimal("slip_fixed", slip_fixed), **flags)
    return NoSlippage()
