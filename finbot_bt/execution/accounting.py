"""Cash and positions, in Decimal, with BackBroker's cash rules.

Stock-like instruments pay the full price: buying ``q`` at ``p`` costs
``q * p`` (times the multiplier for P&L), short sales credit the proceeds.
Futures-like instruments (``Instrument.margin`` set) reserve ``|q| * margin``
on opening, release it on closing, and settle P&L by marking positions to
market: at each fill against the last mark (``adjbase``) and at each bar's
close. Equity is ``cash + sum(position values)`` where a stock position is
worth ``quantity * close * multiplier`` and a futures position
``|quantity| * margin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.positions import Instrument, Position

ZERO = Decimal(0)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class PositionState:
    """Mutable position book entry (the simulator's private state)."""

    __slots__ = ("adjbase", "avg_price", "commission", "quantity", "realized_pnl", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.quantity = ZERO
        self.avg_price = ZERO
        self.adjbase = ZERO
        self.realized_pnl = ZERO
        self.commission = ZERO

    def snapshot(self) -> Position:
        return Position(
            symbol=self.symbol,
            quantity=self.quantity,
            avg_price=self.avg_price,
            realized_pnl=self.realized_pnl,
            commission=self.commission,
        )


def split_fill(position_quantity: Decimal, signed_quantity: Decimal) -> tuple[Decimal, Decimal]:
    """Split a signed fill into (closed, opened) parts, both signed like the fill."""
    if position_quantity == ZERO or (position_quantity > ZERO) == (signed_quantity > ZERO):
        return ZERO, signed_quantity
    if abs(signed_quantity) <= abs(position_quantity):
        return signed_quantity, ZERO
    closed = -position_quantity
    return closed, signed_quantity - closed


def updated_position(
    quantity: Decimal, avg_price: Decimal, signed_quantity: Decimal, price: Decimal
) -> tuple[Decimal, Decimal]:
    """New (quantity, average price) after a fill; average price is 0 when flat."""
    new_quantity = quantity + signed_quantity
    if new_quantity == ZERO:
        return ZERO, ZERO
    if quantity == ZERO or (quantity > ZERO) != (new_quantity > ZERO):
        return new_quantity, price  # opened fresh or reversed
    if abs(new_quantity) > abs(quantity):
        return new_quantity, (avg_price * quantity + price * signed_quantity) / new_quantity
    return new_quantity, avg_price


def closing_cash(inst: Instrument, closed: Decimal, old_price: Decimal, price: Decimal) -> Decimal:
    """Cash released by closing ``closed`` (signed like the fill) before commission."""
    if inst.margin is not None:
        return abs(closed) * inst.margin
    pnl = -closed * (price - old_price) * inst.multiplier
    return -closed * old_price + pnl


def opening_cash(inst: Instrument, opened: Decimal, price: Decimal) -> Decimal:
    """Cash consumed by opening ``opened`` (signed) before commission (negative for shorts)."""
    if inst.margin is not None:
        return abs(opened) * inst.margin
    return opened * price


@dataclass(slots=True)
class FillBooking:
    """What booking a fill did: the split, the P&L, and whether funds refused the opening.

    Treated as immutable; not declared frozen because a frozen dataclass's constructor
    costs about three times as much and this record is built on every fill.
    """

    closed: Decimal
    opened: Decimal
    realized_pnl: Decimal
    commission: Decimal
    opening_refused: bool


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class Portfolio:
    """Cash plus one :class:`PositionState` per symbol traded."""

    __slots__ = ("cash", "instruments", "positions")

    def __init__(self, cash: Decimal, instruments: dict[str, Instrument] | None = None) -> None:
        self.cash = cash
        self.positions: dict[str, PositionState] = {}
        self.instruments: dict[str, Instrument] = dict(instruments or {})

    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            inst = self.instruments[symbol] = Instrument(symbol=symbol)
        return inst

    def position(self, symbol: str) -> PositionState:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = PositionState(symbol)
        return pos

    def book_fill(
        self,
        symbol: str,
        signed_quantity: Decimal,
        price: Decimal,
        commission_closed: Decimal,
        commission_opened: Decimal,
        *,
        refuse_unfunded: bool,
    ) -> FillBooking:
        """Apply a fill to cash and position (BackBroker ``_execute`` order of steps)."""
        inst = self.instrument(symbol)
        pos = self.position(symbol)
        closed, opened = split_fill(pos.quantity, signed_quantity)
        return self.book_split(inst, pos, closed, opened, price, commission_closed, commission_opened,
                               refuse_unfunded)

    def book_split(
        self, inst: Instrument, pos: PositionState, closed: Decimal, opened: Decimal, price: Decimal,
        commission_closed: Decimal, commission_opened: Decimal, refuse_unfunded: bool,
    ) -> FillBooking:
        """:meth:`book_fill` once the instrument, the position and the split are known."""
        futures = inst.margin is not None
        cash = self.cash
        pnl = ZERO
        commission = ZERO
        if closed != ZERO:
            pnl = -closed * (price - pos.avg_price) * inst.multiplier
            cash += closing_cash(inst, closed, pos.avg_price, price) - commission_closed
            commission += commission_closed
            if futures:
                cash += -closed * (price - pos.adjbase) * inst.multiplier
        refused = False
        if opened != ZERO:
            trial = cash - opening_cash(inst, opened, price) - commission_opened
            if refuse_unfunded and trial < ZERO:
                refused = True
                opened = ZERO
            else:
                if futures:
                    remaining = pos.quantity + closed  # contracts kept from before
                    if remaining != ZERO:
                        trial += remaining * (price - pos.adjbase) * inst.multiplier
                cash = trial
                commission += commission_opened
                pos.adjbase = price
        executed = closed + opened
        if executed != ZERO:
            pos.quantity, pos.avg_price = updated_position(pos.quantity, pos.avg_price, executed, price)
            if pos.quantity == ZERO:
                pos.adjbase = ZERO
            pos.realized_pnl += pnl
            pos.commission += commission
        self.cash = cash
        return FillBooking(closed, opened, pnl, commission, refused)

    def mark_to_market(self, symbol: str, close: Decimal) -> None:
        """Settle a futures-like position's P&L to ``close`` (no-op for stocks)."""
        inst = self.instruments.get(symbol)
        pos = self.positions.get(symbol)
        if inst is None or inst.margin is None or pos is None or pos.quantity == ZERO:
            return
        self.cash += pos.quantity * (close - pos.adjbase) * inst.multiplier
        pos.adjbase = close

    def position_value(self, symbol: str, price: Decimal) -> Decimal:
        """Value of one position at ``price`` (signed for stock shorts)."""
        pos = self.positions.get(symbol)
        if pos is None or pos.quantity == ZERO:
            return ZERO
        inst = self.instrument(symbol)
        if inst.margin is not None:
            return abs(pos.quantity) * inst.margin
        return pos.quantity * price * inst.multiplier

    def equity(self, prices: dict[str, Decimal]) -> Decimal:
        """Cash plus every position valued at ``prices`` (a held symbol without a price raises KeyError)."""
        total = self.cash
        for symbol, pos in self.positions.items():
            if pos.quantity != ZERO:
                total += self.position_value(symbol, prices[symbol])
        return total
