"""JSON codecs of the contracts: plain ``dict``/``list``/``str`` data and back.

Decimals are written as ``str(value)`` (exact, exponent kept, so a value
reads back with the same ``repr``); datetimes as ISO 8601, with a named
``zoneinfo`` zone appended in brackets (``2024-01-02T09:30:00-05:00[America/New_York]``)
so that a zone survives the round trip; durations as decimal seconds
(``"0.05"``). Used by checkpoints and the event journal. Standard library only.

Decoders raise :class:`~finbot_bt.errors.ContractError` (or the contract's
own error) on malformed input; callers that read files wrap it into a
``CheckpointError`` naming the file.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar, get_args, get_type_hints
from zoneinfo import ZoneInfo

from finbot_bt.contracts.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    RejectionReason,
    TimeInForce,
)
from finbot_bt.contracts.events import (
    CancelRejected,
    ExecutionEvent,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RiskLimitBreached,
    TradingStateChanged,
)
from finbot_bt.contracts.latency import LatencyConfig
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order, OrderExecution
from finbot_bt.contracts.positions import Instrument
from finbot_bt.errors import ContractError

MAX_DECIMAL_CHARS = 80
"""Longest decimal string accepted."""
MAX_DECIMAL_EXPONENT = 100
"""Largest accepted |exponent| of a decimal (``1e999999`` is refused)."""

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL = re.compile(r"[+-]?(?:NaN|sNaN|Infinity)")
_ZONE = re.compile(r"(.*)\[([A-Za-z0-9_+\-/]{1,64})\]")
_MICRO = Decimal(1_000_000)
E = TypeVar("E", bound=StrEnum)

EVENT_TYPES: dict[str, type[ExecutionEvent]] = {
    cls.__name__: cls
    for cls in (
        OrderSubmitted, OrderAccepted, OrderRejected, OrderFilled, OrderCancelled,
        OrderExpired, CancelRejected, TradingStateChanged, RiskLimitBreached,
    )
}
"""Event classes by the name written in the journal's ``type`` field."""


# ---------------------------------------------------------------------- scalars
def decode_decimal(name: str, value: object, *, special: bool = False) -> Decimal:
    """Parse a decimal string; ``special`` also admits NaN and infinities."""
    if not isinstance(value, str) or len(value) > MAX_DECIMAL_CHARS:
        raise ContractError(f"{name} must be a decimal string of at most {MAX_DECIMAL_CHARS} chars, "
                            f"got {_short(value)}")
    if _SPECIAL.fullmatch(value):
        if special:
            return Decimal(value)
        raise ContractError(f"{name} must be finite, got {value!r}")
    if not _DECIMAL.fullmatch(value):
        raise ContractError(f"{name} is not a decimal number: {_short(value)}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ContractError(f"{name} is not a decimal number: {_short(value)}") from None
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite by the regex
    if abs(exponent) > MAX_DECIMAL_EXPONENT or abs(number.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise ContractError(f"{name} is out of range (|exponent| > {MAX_DECIMAL_EXPONENT}): {_short(value)}")
    return number


def decode_optional_decimal(name: str, value: object, *, special: bool = False) -> Decimal | None:
    """Like :func:`decode_decimal`, with None passing through."""
    return None if value is None else decode_decimal(name, value, special=special)


def encode_datetime(value: datetime) -> str:
    """ISO 8601; a ``ZoneInfo`` zone is appended as ``[key]``."""
    text = value.isoformat()
    if isinstance(value.tzinfo, ZoneInfo):
        text += f"[{value.tzinfo.key}]"
    return text


def decode_datetime(name: str, value: object) -> datetime:
    """Parse :func:`encode_datetime` output."""
    if not isinstance(value, str) or len(value) > 100:
        raise ContractError(f"{name} must be an ISO 8601 string, got {_short(value)}")
    zone_key = None
    match = _ZONE.fullmatch(value)
    text = value
    if match is not None:
        text, zone_key = match.group(1), match.group(2)
    try:
        parsed = datetime.fromisoformat(text)
        if zone_key is not None:
            if parsed.tzinfo is None:
                raise ValueError("a zone needs a UTC offset")
            parsed = parsed.astimezone(ZoneInfo(zone_key))
    except (ValueError, KeyError, OverflowError) as exc:
        raise ContractError(f"{name} is not a valid datetime: {_short(value)} ({exc})") from None
    return parsed


def decode_optional_datetime(name: str, value: object) -> datetime | None:
    """Like :func:`decode_datetime`, with None passing through."""
    return None if value is None else decode_datetime(name, value)


def encode_optional_datetime(value: datetime | None) -> str | None:
    """:func:`encode_datetime`, with None passing through."""
    return None if value is None else encode_datetime(value)


def encode_optional_decimal(value: Decimal | None) -> str | None:
    """``str(value)``, with None passing through."""
    return None if value is None else str(value)


def encode_duration(value: timedelta) -> str:
    """Exact decimal seconds, e.g. ``"0.05"``."""
    micro = value // timedelta(microseconds=1)
    return str((Decimal(micro) / _MICRO).normalize()) if micro else "0"


def decode_duration(name: str, value: object) -> timedelta:
    """Parse :func:`encode_duration` output (whole microseconds, >= 0, < 10**9 s)."""
    seconds = decode_decimal(name, value)
    micro = seconds * _MICRO
    if seconds < 0 or seconds >= Decimal(10) ** 9 or micro != micro.to_integral_value():
        raise ContractError(f"{name} must be whole microseconds in [0, 1e9) seconds, got {value!r}")
    return timedelta(microseconds=int(micro))


def decode_enum(name: str, enum: type[E], value: object) -> E:
    """The member of ``enum`` whose value is ``value``."""
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return enum(value)
    except ValueError:
        raise ContractError(f"{name} must be one of {[m.value for m in enum]}, got {_short(value)}") from None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _get(data: object, key: str, context: str) -> Any:
    if not isinstance(data, dict):
        raise ContractError(f"{context} must be an object, got {type(data).__name__}")
    try:
        return data[key]
    except KeyError:
        raise ContractError(f"{context} lacks the field {key!r}") from None


def _str(name: str, value: object, *, optional: bool = False) -> Any:
    if (value is None and optional) or isinstance(value, str):
        return value
    raise ContractError(f"{name} must be a string, got {_short(value)}")


# ---------------------------------------------------------------------- contracts
def encode_execution(execution: OrderExecution) -> dict[str, Any]:
    """An execution as JSON data."""
    return {
        "execution_id": execution.execution_id,
        "quantity": str(execution.quantity),
        "price": str(execution.price),
        "commission": str(execution.commission),
        "slippage": str(execution.slippage),
        "timestamp": encode_datetime(execution.timestamp),
        "liquidity": execution.liquidity.value,
        "reported_at": encode_optional_datetime(execution.reported_at),
    }


def decode_execution(data: object) -> OrderExecution:
    """Inverse of :func:`encode_execution`."""
    c = "execution"
    return OrderExecution(
        execution_id=_str("execution_id", _get(data, "execution_id", c)),
        quantity=decode_decimal("execution.quantity", _get(data, "quantity", c)),
        price=decode_decimal("execution.price", _get(data, "price", c)),
        commission=decode_decimal("execution.commission", _get(data, "commission", c)),
        slippage=decode_decimal("execution.slippage", _get(data, "slippage", c)),
        timestamp=decode_datetime("execution.timestamp", _get(data, "timestamp", c)),
        liquidity=decode_enum("execution.liquidity", LiquiditySide, _get(data, "liquidity", c)),
        reported_at=decode_optional_datetime("execution.reported_at", _get(data, "reported_at", c)),
    )


_ORDER_DECIMALS = ("quantity", "limit_price", "stop_price", "trail_amount", "trail_percent",
                   "filled_quantity", "avg_fill_price")
_ORDER_DATETIMES = ("expire_at", "created_at", "submitted_at", "accepted_at", "filled_at", "cancelled_at")


def encode_order(order: Order) -> dict[str, Any]:
    """An order (with its executions) as JSON data."""
    return {
        "order_id": order.order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "order_type": order.order_type.value,
        "quantity": str(order.quantity),
        "limit_price": encode_optional_decimal(order.limit_price),
        "stop_price": encode_optional_decimal(order.stop_price),
        "trail_amount": encode_optional_decimal(order.trail_amount),
        "trail_percent": encode_optional_decimal(order.trail_percent),
        "time_in_force": order.time_in_force.value,
        "expire_at": encode_optional_datetime(order.expire_at),
        "status": order.status.value,
        "filled_quantity": str(order.filled_quantity),
        "avg_fill_price": encode_optional_decimal(order.avg_fill_price),
        "executions": [encode_execution(e) for e in order.executions],
        "created_at": encode_optional_datetime(order.created_at),
        "submitted_at": encode_optional_datetime(order.submitted_at),
        "accepted_at": encode_optional_datetime(order.accepted_at),
        "filled_at": encode_optional_datetime(order.filled_at),
        "cancelled_at": encode_optional_datetime(order.cancelled_at),
        "rejection_reason": None if order.rejection_reason is None else order.rejection_reason.value,
        "rejection_message": order.rejection_message,
        "oco_group": order.oco_group,
        "parent_id": order.parent_id,
        "version": order.version,
    }


def decode_order(data: object) -> Order:
    """Inverse of :func:`encode_order` (rejected orders may hold NaN or infinite numbers)."""
    c = "order"
    decimals: dict[str, Any] = {
        name: decode_optional_decimal(f"order.{name}", _get(data, name, c), special=True)
        for name in _ORDER_DECIMALS
    }
    times: dict[str, Any] = {name: decode_optional_datetime(f"order.{name}", _get(data, name, c)) for name in _ORDER_DATETIMES}
    executions = _get(data, "executions", c)
    if not isinstance(executions, list):
        raise ContractError("order.executions must be a list")
    reason = _get(data, "rejection_reason", c)
    version = _get(data, "version", c)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ContractError(f"order.version must be an int, got {_short(version)}")
    quantity, filled = decimals.pop("quantity"), decimals.pop("filled_quantity")
    if quantity is None or filled is None:
        raise ContractError("order.quantity and order.filled_quantity must not be null")
    return Order(
        order_id=_str("order.order_id", _get(data, "order_id", c)),
        symbol=_str("order.symbol", _get(data, "symbol", c)),
        side=decode_enum("order.side", OrderSide, _get(data, "side", c)),
        order_type=decode_enum("order.order_type", OrderType, _get(data, "order_type", c)),
        time_in_force=decode_enum("order.time_in_force", TimeInForce, _get(data, "time_in_force", c)),
        status=decode_enum("order.status", OrderStatus, _get(data, "status", c)),
        quantity=quantity,
        filled_quantity=filled,
        executions=tuple(decode_execution(e) for e in executions),
        rejection_reason=None if reason is None else decode_enum("order.rejection_reason", RejectionReason, reason),
        rejection_message=_str("order.rejection_message", _get(data, "rejection_message", c), optional=True),
        oco_group=_str("order.oco_group", _get(data, "oco_group", c), optional=True),
        parent_id=_str("order.parent_id", _get(data, "parent_id", c), optional=True),
        version=version,
        **decimals,
        **times,
    )


def encode_bar(bar: Bar) -> dict[str, Any]:
    """A bar as JSON data."""
    return {
        "open": str(bar.open), "high": str(bar.high), "low": str(bar.low), "close": str(bar.close),
        "timestamp": encode_datetime(bar.timestamp),
        "volume": encode_optional_decimal(bar.volume),
        "open_time": encode_optional_datetime(bar.open_time),
        "session_close": bar.session_close,
    }


def decode_bar(data: object) -> Bar:
    """Inverse of :func:`encode_bar`."""
    c = "bar"
    session_close = _get(data, "session_close", c)
    if not isinstance(session_close, bool):
        raise ContractError("bar.session_close must be a bool")
    return Bar(
        open=decode_decimal("bar.open", _get(data, "open", c)),
        high=decode_decimal("bar.high", _get(data, "high", c)),
        low=decode_decimal("bar.low", _get(data, "low", c)),
        close=decode_decimal("bar.close", _get(data, "close", c)),
        timestamp=decode_datetime("bar.timestamp", _get(data, "timestamp", c)),
        volume=decode_optional_decimal("bar.volume", _get(data, "volume", c)),
        open_time=decode_optional_datetime("bar.open_time", _get(data, "open_time", c)),
        session_close=session_close,
    )


def encode_instrument(instrument: Instrument) -> dict[str, Any]:
    """An instrument as JSON data."""
    return {"symbol": instrument.symbol, "multiplier": str(instrument.multiplier),
            "margin": encode_optional_decimal(instrument.margin)}


def decode_instrument(data: object) -> Instrument:
    """Inverse of :func:`encode_instrument`."""
    c = "instrument"
    return Instrument(
        symbol=_str("instrument.symbol", _get(data, "symbol", c)),
        multiplier=decode_decimal("instrument.multiplier", _get(data, "multiplier", c)),
        margin=decode_optional_decimal("instrument.margin", _get(data, "margin", c)),
    )


_LATENCY_LEGS = ("submission_latency", "fill_latency_min", "fill_latency_max", "cancel_latency")


def encode_latency(latency: LatencyConfig) -> dict[str, Any]:
    """Latency by its values (seconds), never only by its name."""
    data: dict[str, Any] = {leg: encode_duration(getattr(latency, leg)) for leg in _LATENCY_LEGS}
    data["name"] = latency.name
    return data


def decode_latency(data: object) -> LatencyConfig:
    """Inverse of :func:`encode_latency`."""
    c = "latency"
    legs = {leg: decode_duration(f"latency.{leg}", _get(data, leg, c)) for leg in _LATENCY_LEGS}
    return LatencyConfig(name=_str("latency.name", _get(data, "name", c)), **legs)


# ---------------------------------------------------------------------- events
def encode_event(event: ExecutionEvent) -> dict[str, Any]:
    """An event as JSON data: ``{"type": class name, "sequence": ..., field: value...}``."""
    data: dict[str, Any] = {"type": type(event).__name__}
    for field in fields(event):
        data[field.name] = _encode_value(getattr(event, field.name))
    return data


def _encode_value(value: object) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return encode_datetime(value)
    if isinstance(value, Order):
        return encode_order(value)
    if isinstance(value, OrderExecution):
        return encode_execution(value)
    raise ContractError(f"cannot encode a {type(value).__name__} in an event")


_HINTS: dict[type[ExecutionEvent], dict[str, Any]] = {}


def decode_event(data: object) -> ExecutionEvent:
    """Inverse of :func:`encode_event`."""
    name = _get(data, "type", "event")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ContractError(f"unknown event type {_short(name)}; known: {sorted(EVENT_TYPES)}")
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    assert isinstance(data, dict)
    extra = set(data) - set(hints) - {"type"}
    if extra:
        raise ContractError(f"event {name} has unknown fields {sorted(extra)}")
    values = {f.name: _decode_value(f"{name}.{f.name}", hints[f.name], _get(data, f.name, name))
              for f in fields(cls)}
    return cls(**values)


def _decode_value(name: str, hint: Any, value: object) -> Any:
    options = get_args(hint) or (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise ContractError(f"{name} must not be null")
    kind = next(t for t in options if t is not type(None))
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
            return value
        raise ContractError(f"{name} must be an int in [0, 2**63), got {_short(value)}")
    if kind is str:
        return _str(name, value)
    if kind is Decimal:
        return decode_decimal(name, value)
    if kind is datetime:
        return decode_datetime(name, value)
    if kind is Order:
        return decode_order(value)
    if kind is OrderExecution:
        return decode_execution(value)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return decode_enum(name, kind, value)
    raise ContractError(f"{name}: unsupported field type {hint!r}")
