"""Small validation helpers shared by the contracts (private)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from finbot_bt.errors import ContractError


def require_decimal(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, Decimal):
        raise ContractError(
            f"{name} must be a Decimal (build it from str or int), got {type(value).__name__} {value!r}"
        )


def require_finite_non_negative(name: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not value.is_finite() or value < 0:
        raise ContractError(f"{name} must be a finite, non-negative Decimal, got {value!r}")


def require_datetime(name: str, value: Any, *, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, datetime):
        raise ContractError(f"{name} must be a datetime, got {type(value).__name__} {value!r}")


def require_timedelta(name: str, value: Any) -> None:
    if not isinstance(value, timedelta):
        raise ContractError(f"{name} must be a timedelta, got {type(value).__name__} {value!r}")
    if value < timedelta(0):
        raise ContractError(f"{name} must not be negative, got {value!r}")


def to_decimal(name: str, value: Any) -> Decimal:
    """Convert int/str/Decimal to Decimal; floats are refused (use str(x))."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ContractError(f"{name} must be a number, got a bool")
    if isinstance(value, (int, str)):
        try:
            return Decimal(value)
        except ArithmeticError as exc:
            raise ContractError(f"{name} is not a number: {value!r}") from exc
    raise ContractError(
        f"{name} must be a Decimal, int or str (floats are not accepted inside the core), got {value!r}"
    )
