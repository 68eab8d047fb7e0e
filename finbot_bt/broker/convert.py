"""The float boundary: Backtrader speaks floats, the core speaks Decimal.

Every conversion between the two happens through the functions here.
Floats become Decimals through their shortest repr (``Decimal(repr(x))``), so
``3643.35`` stays ``Decimal('3643.35')``; Decimals become floats by
correct rounding.
"""

from __future__ import annotations

import math
from decimal import Decimal

from finbot_bt.errors import ConfigError


def to_decimal(value: float | int | Decimal) -> Decimal:
    """Float/int/Decimal -> Decimal (NaN and infinities pass through as Decimal specials)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ConfigError(f"expected a number, got a bool {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(float(value)))


def to_float(value: Decimal) -> float:
    """Decimal -> float (correctly rounded)."""
    return float(value)


def finite_positive(value: float | None) -> bool:
    """True for a finite number > 0."""
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def config_decimal(name: str, value: float | int | str | Decimal) -> Decimal:
    """Convert a user-supplied setting to Decimal; refuse NaN/inf with a message naming ``name``."""
    if isinstance(value, str):
        try:
            out = Decimal(value)
        except ArithmeticError:
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        out = to_decimal(value)
    else:
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not out.is_finite():
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return out


def to_size(quantity: Decimal, as_int: bool) -> float | int:
    """A core quantity as a Backtrader size: an ``int`` when ``as_int`` and whole, else a float."""
    if as_int and quantity == quantity.to_integral_value():
        return int(quantity)
    return to_float(quantity)


def kept_type(saved: object, value: Decimal) -> float | int:
    """A number read back from a checkpoint: the int it was saved as when it still holds, else a float."""
    return to_size(value, type(saved) is int and saved == value)
