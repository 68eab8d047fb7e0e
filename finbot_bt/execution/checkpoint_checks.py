"""Content checks of a schema-valid checkpoint: what a type cannot say.

The pydantic schema (:mod:`finbot_bt.contracts.checkpoint`) checks types and
formats; this module checks values and references, so that an edited file
is refused with a CheckpointError naming the field instead of crashing the
simulator later: ids unique; open orders' quantities finite and positive,
their prices finite and positive, filled at most the quantity; positions,
cash and prices finite and within :data:`MAX_MAGNITUDE`; working orders,
and working orders referring to open orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from finbot_bt.contracts.checkpoint import Checkpoint
from finbot_bt.contracts.enums import OrderStatus
from finbot_bt.errors import CheckpointError

MAX_MAGNITUDE = Decimal("1e15")
"""Largest absolute cash, price or quantity a checkpoint may hold."""


def _number(field: str, text: str | None, *, positive: bool = False, signed: bool = True) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CheckpointError(f"{field} is not a number: {text[:40]!r}") from None
    if not value.is_finite():
        raise CheckpointError(f"{field} must be finite, got {text[:40]!r}")
    if abs(value) > MAX_MAGNITUDE:
        raise CheckpointError(f"{field} is out of range (|value| <= {MAX_MAGNITUDE}), got {text[:40]!r}")
    if positive and value <= 0:
        raise CheckpointError(f"{field} must be > 0, got {text[:40]!r}")
    if not signed and value < 0:
        raise CheckpointError(f"{field} must be >= 0, got {text[:40]!r}")
    return value


def _unique(field: str, values: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CheckpointError(f"{field}: {value!r} appears twice")
        seen.add(value)
    return seen


def check_content(body: Checkpoint) -> None:
    """Raise CheckpointError naming the first field whose value is impossible."""
    _number("account.cash", body.account.cash)
    _number("config.initial_cash", body.config.initial_cash, signed=False)
    _unique("account.positions[].symbol", (p.symbol for p in body.account.positions))
    for i, pos in enumerate(body.account.positions):
        _number(f"account.positions[{i}].quantity", pos.quantity)
        _number(f"account.positions[{i}].avg_price", pos.avg_price, signed=False)
        for name in ("adjbase", "realized_pnl", "commission"):
            _number(f"account.positions[{i}].{name}", getattr(pos, name))
    _unique("config.instruments[].symbol", (i.symbol for i in body.config.instruments))
    for i, inst in enumerate(body.config.instruments):
        _number(f"config.instruments[{i}].multiplier", inst.multiplier, positive=True)
    _unique("last_bars[].symbol", (b.symbol for b in body.last_bars))
    _unique("bars_before[].symbol", (b.symbol for b in body.bars_before))
    for symbol, price in body.last_prices.items():
        _number(f"last_prices[{symbol!r}]", price, signed=False)
    _unique("orders[].order_id", (o.order_id for o in body.orders))
    open_ids = set()
    for i, order in enumerate(body.orders):
        if not OrderStatus(order.status).is_open:
            continue
        open_ids.add(order.order_id)
        where = f"orders[{i}] ({order.order_id!r})"
        quantity = _number(f"{where}.quantity", order.quantity, positive=True)
        filled = _number(f"{where}.filled_quantity", order.filled_quantity, signed=False)
        if quantity is not None and filled is not None and filled > quantity:
            raise CheckpointError(f"{where}.filled_quantity {order.filled_quantity} exceeds its quantity")
        for name in ("limit_price", "stop_price", "avg_fill_price", "trail_amount", "trail_percent"):
            _number(f"{where}.{name}", getattr(order, name), positive=name != "avg_fill_price", signed=False)
    working = _unique("working[].order_id", (w.order_id for w in body.working))
    if working - open_ids:
        raise CheckpointError(f"working: order {sorted(working - open_ids)[0]!r} is not an open order")
    for i, record in enumerate(body.working):
        _number(f"working[{i}].venue_filled", record.venue_filled, signed=False)
    _unique("queue.actions[].sequence", (str(a.sequence) for a in body.queue.actions))
    for i, action in enumerate(body.queue.actions):
        if action.fill is not None:
            _number(f"queue.actions[{i}].fill.quantity", action.fill.quantity, positive=True)
            _number(f"queue.actions[{i}].fill.price", action.fill.price, positive=True)
    for group, members in (*body.children.items(), *body.oco.items()):
        _unique(f"children/oco[{group!r}]", members)
