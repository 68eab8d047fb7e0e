"""Market data contracts: OHLCV bars and plain prices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from finbot_bt.errors import MarketDataError


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    """One OHLCV bar of one instrument.

    Parameters
    ----------
    open, high, low, close : Decimal
        Prices in quote currency; ``low <= open, close <= high`` and ``low > 0``.
    volume : Decimal or None
        Traded quantity in the bar; ``None`` means unknown (no volume cap applies).
    timestamp : datetime
        When the bar *closed* (the simulated time at which it became known).
    open_time : datetime or None
        When the bar *opened*. Orders that reached the venue at or before this
        instant can trade from the bar's open. ``None`` means "right after the
        previous bar of the same symbol closed".
    session_close : bool
        True if this bar ends a trading session (market-on-close orders fill at
        the close of such a bar). Daily bars always end a session.
    """

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    timestamp: datetime
    volume: Decimal | None = None
    open_time: datetime | None = None
    session_close: bool = True

    def __post_init__(self) -> None:
        for name, allow_none in (("timestamp", False), ("open_time", True)):
            value = getattr(self, name)
            if not isinstance(value, datetime) and not (allow_none and value is None):
                raise MarketDataError(f"Bar.{name} must be a datetime, got {type(value).__name__} {value!r}")
        for name in ("open", "high", "low", "close"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise MarketDataError(f"Bar.{name} must be a finite Decimal, got {value!r}")
            if value <= 0:
                raise MarketDataError(f"Bar.{name} must be positive, got {value}")
        if self.high < self.low:
            raise MarketDataError(f"Bar.high {self.high} is below Bar.low {self.low}")
        for name in ("open", "close"):
            value = getattr(self, name)
            if value > self.high or value < self.low:
                raise MarketDataError(
                    f"Bar.{name} {value} lies outside [low {self.low}, high {self.high}]"
                )
        if self.volume is not None and (
            not isinstance(self.volume, Decimal) or not self.volume.is_finite() or self.volume < 0
        ):
            raise MarketDataError(f"Bar.volume must be a finite Decimal >= 0, got {self.volume!r}")
        if self.open_time is not None and self.open_time > self.timestamp:
            raise MarketDataError(
                f"Bar.open_time {self.open_time} is after Bar.timestamp {self.timestamp}"
            )

    @classmethod
    def from_price(cls, price: Decimal, timestamp: datetime) -> Bar:
        """A degenerate bar for a plain price: O=H=L=C=price, unknown volume."""
        return cls(open=price, high=price, low=price, close=price, timestamp=timestamp)


def trusted_bar(
    open: Decimal, high: Decimal, low: Decimal, close: Decimal, timestamp: datetime,
    volume: Decimal | None, open_time: datetime | None, session_close: bool,
) -> Bar:
    """Build a :class:`Bar` without re-running its validation.

    For adapters on a hot path that have already established every invariant
    ``Bar.__post_init__`` checks (finite positive prices, low <= open, close <=
    high, volume >= 0, open_time <= timestamp). Anyone else: use ``Bar(...)``.
    """
    bar = _new_bar(Bar)
    # The slots' own setters: what object.__setattr__ does past the frozen check, without the name lookup.
    _set_open(bar, open)
    _set_high(bar, high)
    _set_low(bar, low)
    _set_close(bar, close)
    _set_timestamp(bar, timestamp)
    _set_volume(bar, volume)
    _set_open_time(bar, open_time)
    _set_session_close(bar, session_close)
    return bar


_new_bar = object.__new__
(_set_open, _set_high, _set_low, _set_close, _set_timestamp, _set_volume, _set_open_time,
 _set_session_close) = (Bar.__dict__[name].__set__ for name in (
    "open", "high", "low", "close", "timestamp", "volume", "open_time", "session_close"))


MarketPrice = Bar | Decimal
"""What ``process_market_data`` accepts per symbol: a bar or a plain price."""
