"""Risk configuration: pre-trade limits, drawdown latch and order-rate throttle.

Every rule is optional and frozen. Units:

* quantities are unsigned units (shares or contracts);
* values and notionals are quote currency (``quantity * price * multiplier``);
* percentages are written as percent: ``Decimal("5")`` means 5 %, not 0.05;
* the throttle interval is simulated time.

Every limit is inclusive: a figure exactly at its limit passes.

``RiskConfig.to_dict()`` gives plain JSON/TOML types (Decimals as strings,
the throttle interval as seconds); ``RiskConfig.from_dict()`` reads them back,
rejecting unknown keys with a :class:`~finbot_bt.errors.ConfigError` that
names the key. This module depends on the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from finbot_bt.errors import ConfigError, did_you_mean

RISK_CONFIG_VERSION = 1
"""Version of the ``to_dict`` layout; bumped on incompatible changes."""

HUNDRED = Decimal(100)
_MICROSECOND = timedelta(microseconds=1)


def _limit(name: str, value: object, *, allow_zero: bool = True, upper: Decimal | None = None) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal):
        raise ConfigError(f"{name} must be a Decimal (build it from str or int), got {value!r}")
    finite = value.is_finite()
    low_ok = finite and (value >= 0 if allow_zero else value > 0)
    if not low_ok or (upper is not None and value > upper):
        bound = ">= 0" if allow_zero else "> 0"
        if upper is not None:
            bound += f" and <= {upper}"
        raise ConfigError(f"{name} must be a finite Decimal {bound}, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolPositionLimit:
    """Per-symbol override of a :class:`PositionLimitRule`.

    A field left at None inherits the rule's default for that field.
    """

    symbol: str
    max_shares: Decimal | None = None
    max_value: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise ConfigError(f"SymbolPositionLimit.symbol must be a non-empty str, got {self.symbol!r}")
        _limit(f"SymbolPositionLimit({self.symbol}).max_shares", self.max_shares)
        _limit(f"SymbolPositionLimit({self.symbol}).max_value", self.max_value)


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionLimitRule:
    """Cap on the size of each symbol's position, open orders included.

    The checked figure is the worst case on the order's side: for a buy,
    ``position + open buys + order`` (units); for a sell, the magnitude of
    ``position - open sells - order`` when that is short. An order passes when
    the figure is at or below ``max_shares`` and, valued at the last close
    times the multiplier, at or below ``max_value``. Orders that reduce the
    position never raise the figure and always pass. Linked orders count once:
    the exits of a bracket (one-cancels-other, reduce-only) add at most what
    their entry has filled, and members of one OCO group on the same side add
    the largest remaining quantity among them, not their sum.

    Parameters
    ----------
    max_shares : Decimal or None
        Largest absolute position, units; None for no unit cap.
    max_value : Decimal or None
        Largest absolute position value, quote currency; None for no value cap.
    per_symbol : tuple of SymbolPositionLimit
        Overrides for named symbols (None fields inherit the defaults above).
    """

    max_shares: Decimal | None = None
    max_value: Decimal | None = None
    per_symbol: tuple[SymbolPositionLimit, ...] = ()

    def __post_init__(self) -> None:
        _limit("PositionLimitRule.max_shares", self.max_shares)
        _limit("PositionLimitRule.max_value", self.max_value)
        if not isinstance(self.per_symbol, tuple) or not all(
            isinstance(item, SymbolPositionLimit) for item in self.per_symbol
        ):
            raise ConfigError("PositionLimitRule.per_symbol must be a tuple of SymbolPositionLimit")
        seen: set[str] = set()
        for item in self.per_symbol:
            if item.symbol in seen:
                raise ConfigError(f"PositionLimitRule.per_symbol names {item.symbol!r} twice")
            seen.add(item.symbol)
        if self.max_shares is None and self.max_value is None and not self.per_symbol:
            raise ConfigError("PositionLimitRule needs max_shares, max_value or per_symbol")

    def limits_for(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """``(max_shares, max_value)`` that apply to ``symbol``."""
        for item in self.per_symbol:
            if item.symbol == symbol:
                return (
                    item.max_shares if item.max_shares is not None else self.max_shares,
                    item.max_value if item.max_value is not None else self.max_value,
                )
        return self.max_shares, self.max_value


@dataclass(frozen=True, slots=True, kw_only=True)
class ExposureLimitRule:
    """Cap on gross and net exposure as a percent of marked-to-market equity.

    Exposure is notional, ``quantity * last close * multiplier``, over every
    symbol held or with open orders, each at its worst case given its open
    orders: gross is ``sum(max(|position + open buys|, |position - open sells|))``
    and net is the larger magnitude of the all-buys-fill and all-sells-fill sums.
    Linked orders (bracket exits, OCO groups) count once, as in
    :class:`PositionLimitRule`. An order is refused when it raises a figure above its limit
    (``figure * 100 > limit * equity``); at the limit passes. Orders that do
    not raise a figure pass even when it is already over.

    Parameters
    ----------
    max_gross_exposure_pct : Decimal or None
        Percent of equity (100 = no leverage); None switches it off.
    max_net_exposure_pct : Decimal or None
        Percent of equity; None switches it off. At least one must be set.
    """

    max_gross_exposure_pct: Decimal | None = None
    max_net_exposure_pct: Decimal | None = None

    def __post_init__(self) -> None:
        _limit("ExposureLimitRule.max_gross_exposure_pct", self.max_gross_exposure_pct)
        _limit("ExposureLimitRule.max_net_exposure_pct", self.max_net_exposure_pct)
        if self.max_gross_exposure_pct is None and self.max_net_exposure_pct is None:
            raise ConfigError("ExposureLimitRule needs max_gross_exposure_pct or max_net_exposure_pct")


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawdownLimitRule:
    """Loss limits on marked-to-market equity (cash plus positions at the last close).

    * daily: ``(day start - equity) / day start * 100``, where the day start
      is the equity last seen before the simulated clock's calendar date changed
      (the previous close), or the first equity seen;
    * total: ``(peak - equity) / peak * 100`` from the high-water mark.

    A figure above its limit (exactly at it passes) latches the simulator to
    REDUCING: only orders that shrink a position pass until ``enable_trading()``.

    Parameters
    ----------
    max_daily_drawdown_pct, max_total_drawdown_pct : Decimal or None
        Percent, in (0, 100]; None switches that limit off.
    """

    max_daily_drawdown_pct: Decimal | None = None
    max_total_drawdown_pct: Decimal | None = None

    def __post_init__(self) -> None:
        _limit("DrawdownLimitRule.max_daily_drawdown_pct", self.max_daily_drawdown_pct,
               allow_zero=False, upper=HUNDRED)
        _limit("DrawdownLimitRule.max_total_drawdown_pct", self.max_total_drawdown_pct,
               allow_zero=False, upper=HUNDRED)
        if self.max_daily_drawdown_pct is None and self.max_total_drawdown_pct is None:
            raise ConfigError("DrawdownLimitRule needs max_daily_drawdown_pct or max_total_drawdown_pct")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSizeRule:
    """Per-order caps, applied to every order (reducing ones too).

    Parameters
    ----------
    max_order_quantity : Decimal or None
        Largest order quantity, units.
    max_order_notional : Decimal or None
        Largest ``quantity * reference price * multiplier``, quote currency. The
        reference price is the limit (limit orders), the stop (stop orders) or
        the last close.
    """

    max_order_quantity: Decimal | None = None
    max_order_notional: Decimal | None = None

    def __post_init__(self) -> None:
        _limit("OrderSizeRule.max_order_quantity", self.max_order_quantity, allow_zero=False)
        _limit("OrderSizeRule.max_order_notional", self.max_order_notional, allow_zero=False)
        if self.max_order_quantity is None and self.max_order_notional is None:
            raise ConfigError("OrderSizeRule needs max_order_quantity or max_order_notional")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRateLimit:
    """Token-bucket throttle on order submissions, in simulated time.

    The bucket holds up to ``burst`` orders and refills continuously at
    ``max_orders`` per ``interval``; each accepted order takes one. An order
    finding the bucket empty is refused (never queued), as NautilusTrader's
    throttler does. Orders refused by another rule take no token.

    Parameters
    ----------
    max_orders : int
        Sustained orders per interval (> 0).
    interval : timedelta
        Refill period, simulated time (> 0, microsecond resolution).
    burst : int or None
        Bucket size; None means ``max_orders``.
    name : str
        Label shown in rejection messages (preset name or ``"custom"``).
    """

    max_orders: int
    interval: timedelta
    burst: int | None = None
    name: str = "custom"

    def __post_init__(self) -> None:
        for field in ("max_orders", "burst"):
            value = getattr(self, field)
            if value is None and field == "burst":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"OrderRateLimit.{field} must be a positive int, got {value!r}")
        if not isinstance(self.interval, timedelta) or self.interval < _MICROSECOND:
            raise ConfigError(
                f"OrderRateLimit.interval must be a timedelta of at least 1 microsecond, got {self.interval!r}"
            )
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"OrderRateLimit.name must be a non-empty str, got {self.name!r}")

    @property
    def capacity(self) -> int:
        """Bucket size in orders (``burst`` or ``max_orders``)."""
        return self.burst if self.burst is not None else self.max_orders


# Published order-rate limits. Venues count differently (messages, requests,
# orders) and change their limits; these are the documented figures at the
# time of writing, applied to order submissions only, so they are an upper
# bound on what the venue would let through. Check the venue before relying on one.
RATE_LIMIT_PRESETS: dict[str, OrderRateLimit] = {
    p.name: p
    for p in (
        # Alpaca Trading API: 200 requests per minute per account, paper and live
        # alike (HTTP 429 beyond); every API request counts, not only orders.
        OrderRateLimit(max_orders=200, interval=timedelta(minutes=1), name="alpaca"),
        # Interactive Brokers TWS API: 50 messages per second client to TWS, which
        # "implies a maximum of 50 orders per second" (tws-api order_limitations page).
        OrderRateLimit(max_orders=50, interval=timedelta(seconds=1), name="ibkr_tws"),
        # Binance spot: 50 new orders per 10 seconds per account (ORDERS rate limit
        # in exchangeInfo, error -1015); the 160,000 per day limit is not modelled.
        OrderRateLimit(max_orders=50, interval=timedelta(seconds=10), name="binance_spot"),
        # Coinbase Exchange FIX order entry: 50 requests per rolling second, bursts
        # to 100, documented as a lazy-fill token bucket.
        OrderRateLimit(max_orders=50, interval=timedelta(seconds=1), burst=100, name="coinbase_fix"),
        # NautilusTrader RiskEngine default max_order_submit_rate "100/00:00:01".
        OrderRateLimit(max_orders=100, interval=timedelta(seconds=1), name="nautilus_default"),
    )
}


def rate_limit_preset(name: str) -> OrderRateLimit:
    """Return a venue preset (see ``RATE_LIMIT_PRESETS``); case-insensitive."""
    try:
        return RATE_LIMIT_PRESETS[name.lower()]
    except (KeyError, AttributeError):
        raise ConfigError(
            f"unknown order rate preset {name!r}; choose one of {sorted(RATE_LIMIT_PRESETS)}"
        ) from None


_SECTIONS: dict[str, type] = {
    "position_limit": PositionLimitRule,
    "exposure_limit": ExposureLimitRule,
    "drawdown_limit": DrawdownLimitRule,
    "order_size": OrderSizeRule,
    "order_rate": OrderRateLimit,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskConfig:
    """The risk layer's settings; every rule is optional (None = off).

    Check order in the simulator: kill switch, trading state, then
    ``order_size``, ``order_rate``, ``position_limit``, ``exposure_limit``,
    ``drawdown_limit``; the first refusal wins.
    """

    position_limit: PositionLimitRule | None = None
    exposure_limit: ExposureLimitRule | None = None
    drawdown_limit: DrawdownLimitRule | None = None
    order_size: OrderSizeRule | None = None
    order_rate: OrderRateLimit | None = None

    def __post_init__(self) -> None:
        for field, expected in _SECTIONS.items():
            value = getattr(self, field)
            if value is not None and not isinstance(value, expected):
                raise ConfigError(
                    f"RiskConfig.{field} must be a {expected.__name__} or None, got {type(value).__name__}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/TOML types: Decimals as str, interval as seconds (str); None rules omitted."""
        out: dict[str, Any] = {"version": RISK_CONFIG_VERSION}
        if self.position_limit is not None:
            rule = self.position_limit
            section = _decimals(max_shares=rule.max_shares, max_value=rule.max_value)
            if rule.per_symbol:
                section["per_symbol"] = {
                    item.symbol: _decimals(max_shares=item.max_shares, max_value=item.max_value)
                    for item in rule.per_symbol
                }
            out["position_limit"] = section
        if self.exposure_limit is not None:
            out["exposure_limit"] = _decimals(
                max_gross_exposure_pct=self.exposure_limit.max_gross_exposure_pct,
                max_net_exposure_pct=self.exposure_limit.max_net_exposure_pct,
            )
        if self.drawdown_limit is not None:
            out["drawdown_limit"] = _decimals(
                max_daily_drawdown_pct=self.drawdown_limit.max_daily_drawdown_pct,
                max_total_drawdown_pct=self.drawdown_limit.max_total_drawdown_pct,
            )
        if self.order_size is not None:
            out["order_size"] = _decimals(
                max_order_quantity=self.order_size.max_order_quantity,
                max_order_notional=self.order_size.max_order_notional,
            )
        if self.order_rate is not None:
            rate = self.order_rate
            section = {"max_orders": rate.max_orders, "interval": str(_seconds(rate.interval)),
                       "name": rate.name}
            if rate.burst is not None:
                section["burst"] = rate.burst
            out["order_rate"] = section
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskConfig:
        """Build from ``to_dict`` output or a TOML table; unknown keys raise ConfigError.

        Numbers may be str, int, Decimal or (from TOML) float, converted through
        their shortest repr. ``order_rate`` may also be a preset name.
        """
        table = _table("RiskConfig", data, {"version", *_SECTIONS})
        version = table.get("version", RISK_CONFIG_VERSION)
        if version != RISK_CONFIG_VERSION:
            raise ConfigError(f"RiskConfig.version {version!r} is not supported (expected {RISK_CONFIG_VERSION})")
        return cls(
            position_limit=_opt(table, "position_limit", _position_from),
            exposure_limit=_opt(table, "exposure_limit", _exposure_from),
            drawdown_limit=_opt(table, "drawdown_limit", _drawdown_from),
            order_size=_opt(table, "order_size", _size_from),
            order_rate=_opt(table, "order_rate", _rate_from),
        )


# ---------------------------------------------------------------- dict helpers
def _decimals(**fields: Decimal | None) -> dict[str, Any]:
    return {k: str(v) for k, v in fields.items() if v is not None}


def _seconds(interval: timedelta) -> Decimal:
    return Decimal(interval // _MICROSECOND).scaleb(-6).normalize()


def _table(where: str, data: object, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table (mapping), got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise ConfigError(f"unknown key {key!r} in {where}{did_you_mean(key, allowed)} "
                              f"(allowed keys: {sorted(allowed)})")
    return data


def _opt(table: Mapping[str, Any], key: str, build: Any) -> Any:
    value = table.get(key)
    return None if value is None else build(f"RiskConfig.{key}", value)


def _number(where: str, value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)  # TOML floats: the shortest repr is what the file said
    if isinstance(value, (int, str)):
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ConfigError(f"{where} is not a number: {value!r}") from None
    raise ConfigError(f"{where} must be a number or a numeric string, got {value!r}")


def _integer(where: str, value: object) -> int:
    number = _number(where, value)
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise ConfigError(f"{where} must be a whole number, got {value!r}")
    return int(number)


def _position_from(where: str, data: object) -> PositionLimitRule:
    table = _table(where, data, {"max_shares", "max_value", "per_symbol"})
    overrides: list[SymbolPositionLimit] = []
    per_symbol = table.get("per_symbol") or {}
    if not isinstance(per_symbol, Mapping):
        raise ConfigError(f"{where}.per_symbol must be a table of symbol -> limits")
    for symbol, limits in per_symbol.items():
        inner = f"{where}.per_symbol.{symbol}"
        entry = _table(inner, limits, {"max_shares", "max_value"})
        overrides.append(SymbolPositionLimit(
            symbol=symbol,
            max_shares=_number(f"{inner}.max_shares", entry.get("max_shares")),
            max_value=_number(f"{inner}.max_value", entry.get("max_value")),
        ))
    return PositionLimitRule(
        max_shares=_number(f"{where}.max_shares", table.get("max_shares")),
        max_value=_number(f"{where}.max_value", table.get("max_value")),
        per_symbol=tuple(overrides),
    )


def _exposure_from(where: str, data: object) -> ExposureLimitRule:
    table = _table(where, data, {"max_gross_exposure_pct", "max_net_exposure_pct"})
    return ExposureLimitRule(
        max_gross_exposure_pct=_number(f"{where}.max_gross_exposure_pct", table.get("max_gross_exposure_pct")),
        max_net_exposure_pct=_number(f"{where}.max_net_exposure_pct", table.get("max_net_exposure_pct")),
    )


def _drawdown_from(where: str, data: object) -> DrawdownLimitRule:
    table = _table(where, data, {"max_daily_drawdown_pct", "max_total_drawdown_pct"})
    return DrawdownLimitRule(
        max_daily_drawdown_pct=_number(f"{where}.max_daily_drawdown_pct", table.get("max_daily_drawdown_pct")),
        max_total_drawdown_pct=_number(f"{where}.max_total_drawdown_pct", table.get("max_total_drawdown_pct")),
    )


def _size_from(where: str, data: object) -> OrderSizeRule:
    table = _table(where, data, {"max_order_quantity", "max_order_notional"})
    return OrderSizeRule(
        max_order_quantity=_number(f"{where}.max_order_quantity", table.get("max_order_quantity")),
        max_order_notional=_number(f"{where}.max_order_notional", table.get("max_order_notional")),
    )


def _rate_from(where: str, data: object) -> OrderRateLimit:
    if isinstance(data, str):
        return rate_limit_preset(data)
    table = _table(where, data, {"max_orders", "interval", "burst", "name"})
    for key in ("max_orders", "interval"):
        if key not in table:
            raise ConfigError(f"{where}.{key} is required")
    seconds = _number(f"{where}.interval", table["interval"])
    if seconds is None or not seconds.is_finite() or seconds <= 0:
        raise ConfigError(f"{where}.interval must be a positive number of seconds, got {table['interval']!r}")
    micros = (seconds * 1_000_000).to_integral_value()
    burst = table.get("burst")
    return OrderRateLimit(
        max_orders=_integer(f"{where}.max_orders", table["max_orders"]),
        interval=timedelta(microseconds=int(micros)),
        burst=None if burst is None else _integer(f"{where}.burst", burst),
        name=str(table.get("name", "custom")),
    )
