"""Position and instrument contracts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from finbot_bt.contracts._validate import require_decimal
from finbot_bt.errors import ContractError

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """Trading terms of one symbol.

    Parameters
    ----------
    symbol : str
    multiplier : Decimal
        Contract multiplier (P&L per unit of price per unit of quantity); 1 for stocks.
    margin : Decimal or None
        Initial margin per contract (quote currency). ``None`` means stock-like
        (full notional is paid); a value makes the instrument futures-like: the
        margin is reserved on opening and positions are marked to market at
        each bar's close.
    """

    symbol: str
    multiplier: Decimal = ONE
    margin: Decimal | None = None

    def __post_init__(self) -> None:
        require_decimal("Instrument.multiplier", self.multiplier)
        require_decimal("Instrument.margin", self.margin, allow_none=True)
        if not self.multiplier.is_finite() or self.multiplier <= 0:
            raise ContractError(f"Instrument.multiplier must be positive, got {self.multiplier}")
        if self.margin is not None and (not self.margin.is_finite() or self.margin < 0):
            raise ContractError(f"Instrument.margin must be >= 0, got {self.margin}")

    @property
    def is_futures_like(self) -> bool:
        """True when positions are margined and marked to market."""
        return self.margin is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A position snapshot.

    ``quantity`` is signed (+ long, - short); ``avg_price`` is the average
    entry price (0 when flat); ``realized_pnl`` accumulates closed P&L in quote
    currency, before commissions; ``commission`` is the total paid.
    """

    symbol: str
    quantity: Decimal = ZERO
    avg_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    commission: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("quantity", "avg_price", "realized_pnl", "commission"):
            require_decimal(f"Position.{name}", getattr(self, name))

    @property
    def is_flat(self) -> bool:
        """True when no quantity is held."""
        return self.quantity == 0
