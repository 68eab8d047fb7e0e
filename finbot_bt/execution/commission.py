"""Commission models.

``commission(quantity, price, instrument, first_fill)`` returns the charge in
quote currency (>= 0) for one fill part of ``quantity`` units (unsigned) at
``price``. The simulator calls it separately for the closing and the opening
part of a fill that reverses a position, as BackBroker does; ``first_fill`` is
true for the first call of an order's life (for per-order charges).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

from finbot_bt.contracts.positions import Instrument
from finbot_bt.errors import ConfigError

ZERO = Decimal(0)


def _check(name: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ConfigError(f"{name} must be a finite Decimal >= 0, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommissionModel(ABC):
    """Base class of commission schemes."""

    @abstractmethod
    def commission(
        self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool
    ) -> Decimal:
        """Return the commission for one fill part."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NoCommission(CommissionModel):
    """Always 0."""

    def commission(
        self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool
    ) -> Decimal:
        return ZERO


@dataclass(frozen=True, slots=True, kw_only=True)
class PerShareCommission(CommissionModel):
    """``max(minimum, quantity * rate)``; rate in quote currency per unit (share or contract)."""

    rate: Decimal
    minimum: Decimal = ZERO

    def __post_init__(self) -> None:
        _check("PerShareCommission.rate", self.rate)
        _check("PerShareCommission.minimum", self.minimum)

    def commission(
        self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool
    ) -> Decimal:
        return max(self.minimum, quantity * self.rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class PerContractCommission(PerShareCommission):
    """Per-share commission under its futures name: ``max(minimum, contracts * rate)``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PercentCommission(CommissionModel):
    """``max(minimum, quantity * price * rate)``; rate 0.001 = 0.1 % of traded notional.

    The notional leaves the multiplier out, like Backtrader's ``COMM_PERC``.
    """

    rate: Decimal
    minimum: Decimal = ZERO

    def __post_init__(self) -> None:
        _check("PercentCommission.rate", self.rate)
        _check("PercentCommission.minimum", self.minimum)

    def commission(
        self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool
    ) -> Decimal:
        return max(self.minimum, quantity * price * self.rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedCommission(CommissionModel):
    """``amount`` once per order, charged with its first fill; later fills are free."""

    amount: Decimal

    def __post_init__(self) -> None:
        _check("FixedCommission.amount", self.amount)

    def commission(
        self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool
    ) -> Decimal:
        return self.amount if first_fill else ZERO
