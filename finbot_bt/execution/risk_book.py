"""Valuation of an account's book for the risk engine (private to the execution layer).

Positions are valued at the simulator's last closes; open orders count with
their remaining quantity. Futures-like positions count their margin in equity
and their full notional in exposure.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from finbot_bt.contracts.enums import OrderSide
from finbot_bt.contracts.orders import Order
from finbot_bt.execution.accounting import Portfolio

if TYPE_CHECKING:
    from finbot_bt.execution.risk import RiskContext

ZERO = Decimal(0)
ONE = Decimal(1)


class BookMarks:
    """Equity and worst-case exposure of the whole book, valued at last closes."""

    __slots__ = ("equity", "gross", "net_long", "net_short", "order_unit_value")

    def __init__(self) -> None:
        self.equity = ZERO
        self.gross = ZERO
        self.net_long = ZERO
        self.net_short = ZERO
        self.order_unit_value = ZERO

    @classmethod
    def scan(cls, sim: RiskContext, pending: dict[str, tuple[Decimal, Decimal]], order: Order) -> BookMarks | str:
        """Return the marks, or the first symbol whose price is missing."""
        portfolio = sim.portfolio
        instruments = portfolio.instruments
        last_price = sim.last_price
        marks = cls()
        equity = portfolio.cash
        gross = net_long = net_short = ZERO
        positions = portfolio.positions
        symbols = [s for s, p in positions.items() if p.quantity != 0]
        symbols.extend(s for s in pending if s not in positions or positions[s].quantity == 0)
        if order.symbol not in pending and (order.symbol not in positions or positions[order.symbol].quantity == 0):
            symbols.append(order.symbol)
        for symbol in symbols:
            price = last_price(symbol)
            if price is None:
                return symbol
            held = positions.get(symbol)
            quantity = held.quantity if held is not None else ZERO
            inst = instruments.get(symbol)
            unit = price * inst.multiplier if inst is not None else price
            if quantity != 0:
                margin = inst.margin if inst is not None else None
                equity += abs(quantity) * margin if margin is not None else quantity * unit
            buys, sells = pending.get(symbol, (ZERO, ZERO))
            long_side, short_side = quantity + buys, quantity - sells
            gross += max(abs(long_side), abs(short_side)) * unit
            net_long += long_side * unit
            net_short += short_side * unit
            if symbol == order.symbol:
                marks.order_unit_value = unit
        marks.equity, marks.gross, marks.net_long, marks.net_short = equity, gross, net_long, net_short
        return marks


def pending_by_symbol(orders: list[Order]) -> dict[str, tuple[Decimal, Decimal]]:
    book: dict[str, tuple[Decimal, Decimal]] = {}
    for order in orders:
        remaining = order.quantity - order.filled_quantity
        buys, sells = book.get(order.symbol, (ZERO, ZERO))
        if order.side is OrderSide.BUY:
            book[order.symbol] = (buys + remaining, sells)
        else:
            book[order.symbol] = (buys, sells + remaining)
    return book


def equity_at_last_close(portfolio: Portfolio, last_price: Callable[[str], Decimal | None]) -> Decimal | None:
    total = portfolio.cash
    for symbol, held in portfolio.positions.items():
        if held.quantity == 0:
            continue
        inst = portfolio.instruments.get(symbol)
        if inst is not None and inst.margin is not None:
            total += abs(held.quantity) * inst.margin
            continue
        price = last_price(symbol)
        if price is None:
            return None
        total += held.quantity * price * (inst.multiplier if inst is not None else ONE)
    return total


def multiplier(portfolio: Portfolio, symbol: str) -> Decimal:
    inst = portfolio.instruments.get(symbol)
    return inst.multiplier if inst is not None else ONE
