"""The account's books: funds checks and fill booking with commissions (private to the execution layer).

``Ledger`` wraps the :class:`~finbot_bt.execution.accounting.Portfolio` (cash,
positions, margin) and the commission model. Before an order is accepted,
:meth:`Ledger.check_funds` values it as if it filled at its reference price,
on top of the orders already accepted in the same batch (one
``process_market_data`` call: BackBroker checks each submitted order against
the cash left by the ones before). When a fill report reaches the account,
:meth:`Ledger.book_fill` charges commission on the closing and the opening
part (the first part of an order pays the first-fill commission) and books
cash and position, refusing an unfunded opening if ``refuse_unfunded`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderSide, RejectionReason
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.positions import Position
from finbot_bt.errors import ConfigError, ContractError, MarketDataError
from finbot_bt.execution.accounting import (
    FillBooking,
    Portfolio,
    PositionState,
    closing_cash,
    opening_cash,
    split_fill,
    updated_position,
)
from finbot_bt.execution.commission import CommissionModel

ZERO = Decimal(0)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class Ledger:
    """Cash, positions and commissions of one account, plus the batch funds check.

    ``batch_cash`` and ``batch_positions`` are the cash and (quantity, average
    price) per symbol left after the orders accepted since :meth:`start_batch`;
    None / empty before the first one.
    """

    __slots__ = ("batch_cash", "batch_positions", "commission", "portfolio", "refuse_unfunded")

    def __init__(self, portfolio: Portfolio, commission: CommissionModel, refuse_unfunded: bool) -> None:
        self.portfolio = portfolio
        self.commission = commission
        self.refuse_unfunded = refuse_unfunded
        self.batch_cash: Decimal | None = None
        self.batch_positions: dict[str, tuple[Decimal, Decimal]] = {}

    def position(self, symbol: str) -> Position:
        """Position snapshot; flat for symbols never traded."""
        pos = self.portfolio.positions.get(symbol)
        return pos.snapshot() if pos is not None else Position(symbol=symbol)

    def positions(self) -> dict[str, Position]:
        """Snapshots of every non-flat position."""
        return {s: p.snapshot() for s, p in self.portfolio.positions.items() if p.quantity != ZERO}

    def holds(self, symbol: str) -> bool:
        """True if the position in ``symbol`` is not flat."""
        pos = self.portfolio.positions.get(symbol)
        return pos is not None and pos.quantity != ZERO

    def equity(self, last_prices: Mapping[str, Decimal], prices: Mapping[str, Decimal] | None) -> Decimal:
        """Cash plus positions at ``prices``, else at ``last_prices``; MarketDataError without any price."""
        merged = dict(last_prices)
        if prices:
            merged.update(prices)
        try:
            return self.portfolio.equity(merged)
        except KeyError as exc:
            raise MarketDataError(f"no price known for held symbol {exc.args[0]!r}") from None

    def add_cash(self, amount: Decimal) -> None:
        """Deposit (or, negative, withdraw) cash; ConfigError unless a finite Decimal."""
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise ConfigError(f"amount must be a finite Decimal, got {amount!r}")
        self.portfolio.cash += amount

    def start_batch(self) -> None:
        """Forget the orders checked so far: the next check starts from the account."""
        self.batch_cash = None
        if self.batch_positions:
            self.batch_positions = {}

    def check_funds(self, order: Order, price: Decimal | None) -> tuple[RejectionReason, str] | None:
        """Refusal if ``order`` filled at ``price`` would take cash below zero, else None.

        An order that passes is counted against the batch. Without a price
        nothing is checked (the fill-time check decides).
        """
        if price is None:
            return None
        portfolio = self.portfolio
        cash = self.batch_cash if self.batch_cash is not None else portfolio.cash
        pos = portfolio.positions.get(order.symbol)
        quantity, avg = self.batch_positions.get(
            order.symbol, (pos.quantity, pos.avg_price) if pos is not None else (ZERO, ZERO)
        )
        inst = portfolio.instrument(order.symbol)
        signed = order.signed_quantity
        closed, opened = split_fill(quantity, signed)
        first = True
        if closed != ZERO:
            cash += closing_cash(inst, closed, avg, price)
            cash -= self.commission.commission(abs(closed), price, inst, True)
            first = False
        if opened != ZERO:
            cash -= opening_cash(inst, opened, price)
            cash -= self.commission.commission(abs(opened), price, inst, first)
        if cash < ZERO:
            return (RejectionReason.INSUFFICIENT_FUNDS,
                    f"insufficient funds: {order.side.value} {order.quantity} {order.symbol} at "
                    f"{price} needs more than the available cash (short by {-cash})")
        self.batch_cash = cash
        self.batch_positions[order.symbol] = updated_position(quantity, avg, signed, price)
        return None

    def book_fill(
        self, symbol: str, side: OrderSide, quantity: Decimal, price: Decimal, first: bool
    ) -> tuple[FillBooking, Decimal, Decimal, PositionState]:
        """Book a fill of ``quantity`` (unsigned) at ``price``.

        ``first`` is True while the order has paid no commission yet. Returns
        the booking, the commissions on the closing and the opening part, and
        the position after it. Raises ContractError, before anything is booked,
        if the commission model returns something other than a finite Decimal >= 0.
        """
        portfolio = self.portfolio
        inst = portfolio.instrument(symbol)
        pos = portfolio.position(symbol)
        signed = quantity if side is OrderSide.BUY else -quantity
        closed, opened = split_fill(pos.quantity, signed)
        comm_closed = comm_opened = ZERO
        if closed != ZERO:
            comm_closed = self.commission.commission(abs(closed), price, inst, first)
            first = False
        if opened != ZERO:
            comm_opened = self.commission.commission(abs(opened), price, inst, first)
        for value in (comm_closed, comm_opened):  # checked before anything is booked
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ContractError(
                    f"commission model {type(self.commission).__name__} returned {value!r}; "
                    "a commission must be a finite Decimal >= 0"
                )
        booking = portfolio.book_split(inst, pos, closed, opened, price, comm_closed, comm_opened,
                                       self.refuse_unfunded)
        return booking, comm_closed, comm_opened, pos
