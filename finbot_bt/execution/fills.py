"""Fill configuration: volume caps (partial fills) and funds checks.

A volume cap limits how much of an order may fill on one bar:

* :class:`ParticipationCap` -- at most ``fraction`` of the bar's volume, shared
  by every order on the symbol in that bar in time priority; the rest carries
  to later bars.
* :class:`FixedSizeCap` -- at most ``size`` units per order per bar, and never
  more than the bar's volume (Backtrader's ``FixedSize`` filler).
* :class:`BarPercentCap` -- at most ``percent`` % of the bar's volume per
  order per bar (Backtrader's ``FixedBarPerc`` filler).

With a cap on, a bar with zero volume fills nothing; a bar with unknown volume
(``Bar.volume is None``) is not capped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.errors import ConfigError

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeCap(ABC):
    """Base class of per-bar volume caps."""

    @abstractmethod
    def available(
        self, order: Order, remaining: Decimal, price: Decimal, bar: Bar, used: Decimal
    ) -> Decimal:
        """Quantity the order may fill on ``bar`` (``used`` is what earlier orders took)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticipationCap(VolumeCap):
    """``floor(fraction * volume) - used``, shared by all orders on the symbol in the bar."""

    fraction: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.fraction, Decimal) or not ZERO < self.fraction <= 1:
            raise ConfigError(f"ParticipationCap.fraction must be a Decimal in (0, 1], got {self.fraction!r}")

    def available(
        self, order: Order, remaining: Decimal, price: Decimal, bar: Bar, used: Decimal
    ) -> Decimal:
        if bar.volume is None:
            return remaining
        budget = (bar.volume * self.fraction).to_integral_value(rounding="ROUND_FLOOR") - used
        return max(ZERO, min(remaining, budget))


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedSizeCap(VolumeCap):
    """``min(remaining, volume, size)`` per order per bar."""

    size: Decimal | None = None

    def __post_init__(self) -> None:
        if self.size is not None and (not isinstance(self.size, Decimal) or self.size <= 0):
            raise ConfigError(f"FixedSizeCap.size must be a positive Decimal or None, got {self.size!r}")

    def available(
        self, order: Order, remaining: Decimal, price: Decimal, bar: Bar, used: Decimal
    ) -> Decimal:
        if bar.volume is None:
            return remaining if self.size is None else min(remaining, self.size)
        cap = min(remaining, bar.volume)
        return cap if self.size is None else min(cap, self.size)


@dataclass(frozen=True, slots=True, kw_only=True)
class BarPercentCap(VolumeCap):
    """``min(remaining, volume * percent // 100)`` per order per bar."""

    percent: Decimal = HUNDRED

    def __post_init__(self) -> None:
        if not isinstance(self.percent, Decimal) or not ZERO < self.percent <= HUNDRED:
            raise ConfigError(f"BarPercentCap.percent must be a Decimal in (0, 100], got {self.percent!r}")

    def available(
        self, order: Order, remaining: Decimal, price: Decimal, bar: Bar, used: Decimal
    ) -> Decimal:
        if bar.volume is None:
            return remaining
        return min(remaining, (bar.volume * self.percent) // HUNDRED)


@dataclass(frozen=True, slots=True, kw_only=True)
class FillConfig:
    """How orders meet the market.

    Parameters
    ----------
    volume_cap : VolumeCap or None
        Per-bar cap that produces partial fills; None (default) fills in full.
    check_funds_on_submit : bool
        Refuse, at submission, orders whose cost at the reference price (limit,
        stop, or last close) exceeds cash, counting other orders submitted since
        the last market data (BackBroker's ``checksubmit``). Default True.
    refuse_unfunded_fills : bool
        At execution, refuse the opening part of a fill that would take cash
        below zero (BackBroker's Margin). Default True.
    market_at_last_close : bool
        Cheat-on-close: a market order fills at the last close seen when it
        reaches the venue (BackBroker's ``coc``). Default False.
    market_on_repeated_bar : bool
        A market order is tried on a symbol's last bar passed again (its market had
        no new bar), at that bar's open, even one placed after that bar (BackBroker
        under cheat-on-open). Default False.
    """

    volume_cap: VolumeCap | None = None
    check_funds_on_submit: bool = True
    refuse_unfunded_fills: bool = True
    market_at_last_close: bool = False
    market_on_repeated_bar: bool = False
