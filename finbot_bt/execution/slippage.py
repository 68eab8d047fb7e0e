"""Slippage models.

A model turns the price a fill would get in a frictionless market into the
price it actually gets. Buys slip up, sells slip down. The base class applies
BackBroker's rules for where slippage applies and what happens when the
slipped price leaves the bar:

* fills at the bar's open slip only if ``at_open`` is true;
* limit orders filled at their limit price inside the bar never slip, and a
  slipped price never makes a limit order trade through its limit;
* if the slipped price is outside the bar's range, it is capped to the bar's
  high (buys) or low (sells) when ``cap_to_bar`` (or, for limit orders,
  ``on_limit``) is set; with ``allow_outside_bar`` the out-of-range price is
  used as is (never past a limit order's limit); otherwise the order does not
  fill on this bar.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

from finbot_bt.contracts.enums import OrderSide
from finbot_bt.contracts.market import Bar
from finbot_bt.errors import ConfigError

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10000)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlippageModel(ABC):
    """Base class; subclasses give the raw slipped price by :meth:`slip`."""

    at_open: bool = True
    on_limit: bool = True
    cap_to_bar: bool = True
    allow_outside_bar: bool = False

    @abstractmethod
    def slip(self, side: OrderSide, price: Decimal, quantity: Decimal, bar: Bar) -> Decimal:
        """Return the raw slipped price (may leave the bar's range)."""

    def apply(
        self,
        side: OrderSide,
        price: Decimal,
        bound: Decimal,
        quantity: Decimal,
        bar: Bar,
        *,
        at_open: bool = False,
        limit: bool = False,
    ) -> Decimal | None:
        """Slip ``price`` but not past ``bound`` (bar high for buys, low for sells).

        Returns None when the order cannot fill on this bar at all.
        """
        if at_open and not self.at_open:
            return price
        slipped = self.slip(side, price, quantity, bar)
        if slipped == price:
            return price
        inside = slipped <= bound if side is OrderSide.BUY else slipped >= bound
        if inside:
            return slipped
        if self.cap_to_bar or (limit and self.on_limit):
            return slipped if self.allow_outside_bar and not limit else bound
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class NoSlippage(SlippageModel):
    """Fills at the frictionless price."""

    def slip(self, side: OrderSide, price: Decimal, quantity: Decimal, bar: Bar) -> Decimal:
        return price

    def apply(
        self,
        side: OrderSide,
        price: Decimal,
        bound: Decimal,
        quantity: Decimal,
        bar: Bar,
        *,
        at_open: bool = False,
        limit: bool = False,
    ) -> Decimal | None:
        return price


@dataclass(frozen=True, slots=True, kw_only=True)
class PercentSlippage(SlippageModel):
    """``price * (1 + rate)`` for buys, ``price * (1 - rate)`` for sells (rate 0.001 = 0.1 %)."""

    rate: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or not ZERO <= self.rate < ONE:
            raise ConfigError(f"PercentSlippage.rate must be a Decimal in [0, 1), got {self.rate!r}")

    def slip(self, side: OrderSide, price: Decimal, quantity: Decimal, bar: Bar) -> Decimal:
        if side is OrderSide.BUY:
            return price * (ONE + self.rate)
        return price * (ONE - self.rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class BasisPointsSlippage(SlippageModel):
    """``price * (1 ± bps / 10000)``: fixed basis points against the trader."""

    bps: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.bps, Decimal) or not self.bps.is_finite() or not ZERO <= self.bps < BPS:
            raise ConfigError(f"BasisPointsSlippage.bps must be a Decimal in [0, 10000), got {self.bps!r}")

    def slip(self, side: OrderSide, price: Decimal, quantity: Decimal, bar: Bar) -> Decimal:
        delta = price * self.bps / BPS
        return price + delta if side is OrderSide.BUY else price - delta


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedAmountSlippage(SlippageModel):
    """``price + amount`` for buys, ``price - amount`` for sells (quote currency per unit)."""

    amount: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite() or self.amount < 0:
            raise ConfigError(f"FixedAmountSlippage.amount must be a Decimal >= 0, got {self.amount!r}")

    def slip(self, side: OrderSide, price: Decimal, quantity: Decimal, bar: Bar) -> Decimal:
        return price + self.amount if side is OrderSide.BUY else price - self.amount


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeShareSlippage(SlippageModel):
    """Market impact growing with the share of the bar's volume taken.

    ``price * (1 ± impact * (quantity / volume) ** 2)`` (zipline's
    VolumeShareSlippage formula). With unknown or zero volume no impact applies.
    """

    impact: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        if not isinstance(self.impact, Decimal) or not self.impact.is_finite() or self.impact < 0:
            raise ConfigError(f"VolumeShareSlippage.impact must be a Decimal >= 0, got {self.impact!r}")

    def slip(self, side: OrderSide, price: Decimal, quantity: Decimal, bar: Bar) -> Decimal:
        volume = bar.volume
        if volume is None or volume == 0:
            return price
        share = min(quantity / volume, ONE)
        delta = price * self.impact * share * share
        return price + delta if side is OrderSide.BUY else price - delta
