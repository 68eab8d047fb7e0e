"""Business validation of incoming orders: answers with a reason, never raises."""

from __future__ import annotations

from decimal import Decimal

from finbot_bt.contracts.enums import OrderType, RejectionReason, TimeInForce
from finbot_bt.contracts.orders import Order

_NEEDS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP_LIMIT)
_NEEDS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)
_TRAILING = (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT)


def _bad_price(value: Decimal | None) -> bool:
    return value is not None and (not value.is_finite() or value <= 0)


def validate_order(order: Order) -> tuple[RejectionReason, str] | None:
    """Return ``(reason, message)`` if ``order`` cannot be accepted, else None."""
    quantity = order.quantity
    if not quantity.is_finite() or quantity <= 0:
        return (RejectionReason.INVALID_QUANTITY,
                f"quantity must be a positive finite number (the side gives the direction), got {quantity}")
    if not order.symbol or not order.symbol.strip():
        return RejectionReason.INVALID_SYMBOL, f"symbol must be a non-empty name, got {order.symbol!r}"
    trailing = order.order_type in _TRAILING
    for name in (("limit_price", "stop_price")
                 if order.limit_price is not None or order.stop_price is not None else ()):
        value = getattr(order, name)
        if trailing and value is not None and value.is_finite():
            continue  # a trail wider than the price starts below zero and ratchets up from there
        if _bad_price(value):
            return RejectionReason.INVALID_PRICE, f"{name} must be a positive finite price, got {value}"
    if order.order_type in _NEEDS_LIMIT and order.limit_price is None:
        return RejectionReason.INVALID_PRICE, f"a {order.order_type.value} order needs a limit_price"
    if order.order_type in _NEEDS_STOP and order.stop_price is None:
        return RejectionReason.INVALID_PRICE, f"a {order.order_type.value} order needs a stop_price"
    if order.order_type in _TRAILING:
        amount, percent = order.trail_amount, order.trail_percent
        if (amount is None) == (percent is None):
            return (RejectionReason.INVALID_PRICE,
                    "a trailing order needs exactly one of trail_amount and trail_percent")
        if amount is not None and (not amount.is_finite() or amount < 0):
            return RejectionReason.INVALID_PRICE, f"trail_amount must be >= 0, got {amount}"
        if percent is not None and (not percent.is_finite() or not 0 <= percent < 1):
            return RejectionReason.INVALID_PRICE, f"trail_percent must be in [0, 1), got {percent}"
        if order.order_type is OrderType.TRAILING_STOP_LIMIT and order.stop_price is None:
            return RejectionReason.INVALID_PRICE, "a trailing stop limit order needs an initial stop_price"
    if order.time_in_force is TimeInForce.GTD and order.expire_at is None:
        return RejectionReason.INVALID_ORDER, "a GTD order needs expire_at"
    if order.parent_id is not None and order.parent_id == order.order_id:
        return RejectionReason.INVALID_ORDER, "an order cannot be its own parent"
    return None
