"""How a :class:`~finbot_bt.broker.FinbotBroker` shows itself: ``repr()`` and Jupyter's ``_repr_html_``.

Both describe the broker as it stands: its settings (latency, risk rules,
volume cap, slippage, commission, seed, simulator id, checkpoints), the
account (trading state, cash, value), the open orders and the rejections so
far by reason, and any data warnings. Nothing here changes the broker.
"""

from __future__ import annotations

import dataclasses
import html
from collections import Counter
from decimal import Decimal
from typing import Any

from finbot_bt.contracts.events import OrderRejected
from finbot_bt.contracts.orders import Order

SHOWN_ORDERS = 20
"""Open orders listed in full; the rest are counted."""


def _value(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _model(value)
    return str(value)


def _model(model: Any) -> str:
    """``Name(field=value, ...)`` with the fields that differ from their defaults."""
    if model is None:
        return "none"
    name = type(model).__name__
    if name in ("NoSlippage", "NoCommission"):
        return "none"
    if name == "BacktraderCommission":
        return "Backtrader commission schemes"
    if name == "BacktraderFillerCap":
        return f"Backtrader filler {type(model.filler).__name__}"
    if not dataclasses.is_dataclass(model):
        return name
    parts = []
    for field in dataclasses.fields(model):
        value = getattr(model, field.name)
        default = field.default if field.default is not dataclasses.MISSING else dataclasses.MISSING
        if value == default or value is None or value == ():
            continue
        parts.append(f"{field.name}={_value(value)}")
    return f"{name}({', '.join(parts)})"


def settings(broker: Any) -> list[tuple[str, str]]:
    """``(name, value)`` rows of the broker's settings."""
    sim = broker.sim
    risk = sim.risk_config
    rules = [] if risk is None else [_model(getattr(risk, f.name)) for f in dataclasses.fields(risk)
                                     if f.name != "version" and getattr(risk, f.name) is not None]
    rows = [
        ("latency", sim.latency.name or "custom"),
        ("risk", ", ".join(rules) or "none"),
        ("volume cap", _model(sim.fill.volume_cap)),
        ("slippage", _model(sim.slippage)),
        ("commission", _model(sim.commission)),
        ("seed", str(sim.seed)),
        ("simulator id", sim.simulator_id),
    ]
    if broker.p.checkpoint_dir is not None:
        every = broker.p.checkpoint_every
        rows.append(("checkpoints", f"{broker.p.checkpoint_dir}" + (f" every {every} bars" if every else "")
                     + (" (resume)" if broker.p.resume else "")))
    return rows


def account(broker: Any) -> list[tuple[str, str]]:
    """``(name, value)`` rows of the account: trading state, cash, value, simulated time."""
    rows = [("trading", broker.trading_state), ("cash", f"{broker.getcash():,.2f}"),
            ("value", f"{broker.getvalue():,.2f}")]
    clock = broker.sim.clock
    rows.append(("simulated time", clock.isoformat(sep=" ") if clock is not None else "not started"))
    return rows


def rejections(broker: Any) -> Counter[str] | None:
    """Rejected orders so far by reason code; None when the broker does not record events."""
    if not broker.p.record_events:
        return None
    return Counter(e.reason.value for e in broker.events.of_type(OrderRejected))


def _order_line(order: Order) -> list[str]:
    price = []
    if order.limit_price is not None:
        price.append(f"limit {_value(order.limit_price)}")
    if order.stop_price is not None:
        price.append(f"stop {_value(order.stop_price)}")
    return [order.order_id, order.symbol, order.side.value, order.order_type.value, _value(order.quantity),
            _value(order.remaining_quantity), " ".join(price) or "-", order.status.value]


ORDER_HEADER = ["id", "symbol", "side", "type", "quantity", "remaining", "price", "status"]


def _rejection_text(counts: Counter[str] | None) -> str:
    if counts is None:
        return "not recorded (record_events=False)"
    total = sum(counts.values())
    if not total:
        return "0"
    return f"{total} (" + ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items())) + ")"


def broker_repr(broker: Any) -> str:
    """The text form: settings on the first line, then account, open orders, rejections, warnings."""
    head = ", ".join(f"{name.replace(' ', '_')}={value}" for name, value in settings(broker))
    lines = [f"{type(broker).__name__}({head})"]
    lines.append("  " + "   ".join(f"{name}: {value}" for name, value in account(broker)))
    orders = broker.sim.open_orders()
    lines.append(f"  open orders: {len(orders)}")
    for order in orders[:SHOWN_ORDERS]:
        cells = _order_line(order)
        lines.append(f"    {cells[0]}  {cells[1]} {cells[2]} {cells[3]} {cells[4]} (remaining {cells[5]}, "
                     f"{cells[6]}, {cells[7]})")
    if len(orders) > SHOWN_ORDERS:
        lines.append(f"    ... and {len(orders) - SHOWN_ORDERS} more")
    lines.append(f"  rejections: {_rejection_text(rejections(broker))}")
    lines += [f"  warning: {warning}" for warning in getattr(broker, "data_warnings", ())]
    return "\n".join(lines)


def _rows(rows: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
                   f"<td style='text-align:left'>{html.escape(value)}</td></tr>" for name, value in rows)


def broker_html(broker: Any) -> str:
    """The notebook form: the same content as :func:`broker_repr`, as HTML tables."""
    orders = broker.sim.open_orders()
    parts = [f"<div class='finbot-broker'><strong>{html.escape(type(broker).__name__)}</strong>",
             f"<table>{_rows(settings(broker))}{_rows(account(broker))}",
             _rows([("open orders", str(len(orders))), ("rejections", _rejection_text(rejections(broker)))]),
             "</table>"]
    if orders:
        header = "".join(f"<th>{name}</th>" for name in ORDER_HEADER)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in _order_line(order)) + "</tr>"
                       for order in orders[:SHOWN_ORDERS])
        more = (f"<p>... and {len(orders) - SHOWN_ORDERS} more open orders</p>"
                if len(orders) > SHOWN_ORDERS else "")
        parts.append(f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>{more}")
    for warning in getattr(broker, "data_warnings", ()):
        parts.append(f"<p><strong>warning:</strong> {html.escape(warning)}</p>")
    parts.append("</div>")
    return "".join(parts)


__all__ = ["SHOWN_ORDERS", "account", "broker_html", "broker_repr", "rejections", "settings"]
