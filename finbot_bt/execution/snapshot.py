"""Full-state snapshot of an :class:`ExecutionSimulator` and its restoration.

:func:`snapshot_simulator` turns every piece of simulator state into plain
JSON data (the body of a checkpoint, see
:class:`finbot_bt.contracts.checkpoint.Checkpoint`): configuration by value,
cash, positions (with the futures mark ``adjbase``), orders, the venue-side
working state of open orders (matching state, fills not yet reported, held
back terminal status), the pending action queue with its sequence counter,
the RNG state, id counters, the clock, the trading state, the funds check's
running projection and the risk engine's runtime state.

:func:`restore_simulator_state` builds a fresh simulator from that data and
sets its private state. Nothing is shared with the simulator that was
snapshotted (the data is plain JSON), so the two can run on independently.
Take snapshots between simulator calls, never from inside an event listener.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from finbot_bt.contracts.checkpoint import CHECKPOINT_VERSION, Checkpoint
from finbot_bt.contracts.codec import (
    decode_bar,
    decode_datetime,
    decode_decimal,
    decode_enum,
    decode_instrument,
    decode_latency,
    decode_optional_datetime,
    decode_optional_decimal,
    decode_order,
    encode_bar,
    encode_datetime,
    encode_instrument,
    encode_latency,
    encode_optional_datetime,
    encode_optional_decimal,
    encode_order,
)
from finbot_bt.contracts.enums import LiquiditySide, OrderSide, OrderStatus, OrderType, TradingState
from finbot_bt.contracts.orders import Order
from finbot_bt.errors import CheckpointError, FinbotError
from finbot_bt.execution.accounting import PositionState
from finbot_bt.execution.matching import MatchState
from finbot_bt.execution.model_registry import decode_model, encode_model
from finbot_bt.execution.queue import ActionKind, PendingAction
from finbot_bt.execution.simulator import ExecutionSimulator
from finbot_bt.execution.working import VenueFill, WorkingOrder

JsonDict = dict[str, Any]


# ---------------------------------------------------------------------- snapshot
def snapshot_simulator(
    sim: ExecutionSimulator,
    *,
    journal: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    history: bool = True,
) -> JsonDict:
    """Every piece of ``sim``'s state as plain JSON data (a checkpoint body).

    ``journal`` is the journal mark (``{"sequence": n, "offset": bytes, "segment": name, "summed": bool}``)
    to record; ``metadata`` free JSON data stored with the checkpoint. With
    ``history=False`` finished orders are left out unless something still
    refers to them (a working child's parent, a group member, a report in
    flight): the checkpoint then holds state, not history, and its size does
    not grow with the number of orders ever placed.
    Raises CheckpointError if a model or the risk state cannot be stored.
    """
    version, internal, gauss = sim.rng.getstate()
    return {
        "version": CHECKPOINT_VERSION,
        "simulator_id": sim.simulator_id,
        "timestamp": encode_optional_datetime(sim.clock),
        "config": _config(sim),
        "account": {
            "cash": str(sim.portfolio.cash),
            "positions": [_position(p) for p in sim.portfolio.positions.values()],
            "trading_state": sim.trading_state.value,
        },
        "last_bars": [{"symbol": s, **encode_bar(b)} for s, b in sim.market.last_bar.items()],
        "bars_before": [{"symbol": s, **encode_bar(b)} for s, b in sim.market.bar_before.items()],
        "last_prices": {s: str(p) for s, p in sim.market.last_price.items()},
        "orders": [encode_order(o) for o in _stored_orders(sim, history)],
        "working": [_working(w) for w in sim.book.working.values()],
        "book_symbols": list(sim.book.by_symbol),
        "children": {k: list(v) for k, v in sim.book.children.items()},
        "oco": {k: list(v) for k, v in sim.book.oco.items()},
        "queue": {
            "next_sequence": sim.queue.next_sequence,
            "actions": [_action(a) for a in sim.queue],
        },
        "counters": {"orders": sim.book.order_counter, "events": sim.events.sequence,
                     "working": sim.book.working_sequence},
        "rng": {"version": version, "internal_state": list(internal), "gauss_next": gauss},
        "pending_funds": {
            "cash": encode_optional_decimal(sim.ledger.batch_cash),
            "positions": [{"symbol": s, "quantity": str(q), "avg_price": str(a)}
                          for s, (q, a) in sim.ledger.batch_positions.items()],
        },
        "risk_state": _risk_state(sim),
        "journal": None if journal is None else dict(journal),
        "metadata": dict(metadata or {}),
    }


def _stored_orders(sim: ExecutionSimulator, history: bool) -> list[Order]:
    if history:
        return sim.book.all_orders()
    return sim.book.referenced_orders({a.order_id for a in sim.queue})


def _config(sim: ExecutionSimulator) -> JsonDict:
    return {
        "initial_cash": str(sim.initial_cash),
        "seed": sim.seed,
        "latency": encode_latency(sim.latency),
        "slippage": encode_model(sim.slippage),
        "commission": encode_model(sim.commission),
        "fill": encode_model(sim.fill),
        "instruments": [encode_instrument(i) for i in sim.portfolio.instruments.values()],
        "risk": None if sim.risk_config is None else sim.risk_config.to_dict(),
        "retain_history": sim.retain_history,
    }


def _risk_state(sim: ExecutionSimulator) -> JsonDict | None:
    if sim.risk is None:
        return None
    state = sim.risk.state()
    if not isinstance(state, dict):
        raise CheckpointError(f"RiskEngine.state() must return a dict, got {type(state).__name__}")
    return state


def _position(pos: PositionState) -> JsonDict:
    return {"symbol": pos.symbol, "quantity": str(pos.quantity), "avg_price": str(pos.avg_price),
            "adjbase": str(pos.adjbase), "realized_pnl": str(pos.realized_pnl),
            "commission": str(pos.commission)}


def _working(w: WorkingOrder) -> JsonDict:
    m = w.match
    return {
        "order_id": w.base.order_id,
        "match": {
            "side": m.side.value, "order_type": m.order_type.value,
            "stop": encode_optional_decimal(m.stop), "limit": encode_optional_decimal(m.limit),
            "limit_offset": encode_optional_decimal(m.limit_offset),
            "trail_amount": encode_optional_decimal(m.trail_amount),
            "trail_percent": encode_optional_decimal(m.trail_percent),
            "triggered": m.triggered,
        },
        "live_from": encode_optional_datetime(w.live_from),
        "active": w.active,
        "venue_filled": str(w.venue_filled),
        "cancel_at_venue": w.cancel_at_venue,
        "terminal": w.terminal,
        "terminal_reason": w.terminal_reason,
        "submitted_at": encode_datetime(w.submitted_at),
        "commission_charged": w.commission_charged,
        "in_flight_reports": w.in_flight_reports,
        "sequence": w.sequence,
        "reference_price": encode_optional_decimal(w.reference_price),
        "close_after": encode_optional_datetime(w.close_after),
        "session_end": encode_optional_datetime(w.session_end),
        "annotated": encode_optional_decimal(w.annotated),
        "annotated_at": encode_optional_datetime(w.annotated_at),
        "fixed_price": encode_optional_decimal(w.fixed_price),
    }


def _action(action: PendingAction) -> JsonDict:
    fill = action.payload
    if fill is not None and not isinstance(fill, VenueFill):
        raise CheckpointError(f"cannot checkpoint a queue payload of type {type(fill).__name__}")
    return {
        "due_time": encode_datetime(action.due_time),
        "sequence": action.sequence,
        "kind": action.kind.value,
        "order_id": action.order_id,
        "fill": None if fill is None else {
            "quantity": str(fill.quantity), "price": str(fill.price),
            "requested_price": str(fill.requested_price), "timestamp": encode_datetime(fill.timestamp),
            "liquidity": fill.liquidity.value,
        },
    }


# ---------------------------------------------------------------------- restore
def restore_simulator_state(data: Checkpoint | Mapping[str, Any]) -> ExecutionSimulator:
    """A new simulator in exactly the state recorded by :func:`snapshot_simulator`.

    ``data`` is a validated :class:`Checkpoint` or a body dict (validated
    here). Any inconsistency raises CheckpointError.
    """
    body = data if isinstance(data, Checkpoint) else validate_body(data)
    plain = body.model_dump(mode="python")
    try:
        return _restore(plain)
    except CheckpointError:
        raise
    except (FinbotError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise CheckpointError(f"checkpoint of {body.simulator_id!r} cannot be restored: {exc}") from None


def validate_body(data: Mapping[str, Any]) -> Checkpoint:
    """Validate a checkpoint body with the pydantic schema (CheckpointError on failure)."""
    from pydantic import ValidationError

    try:
        return Checkpoint.model_validate(data)
    except ValidationError as exc:
        raise CheckpointError(f"checkpoint does not match the schema: {_first_errors(exc)}") from None


def _first_errors(exc: Any) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _restore(data: JsonDict) -> ExecutionSimulator:
    cfg = data["config"]
    risk = None
    if cfg["risk"] is not None:
        from finbot_bt.contracts.risk import RiskConfig

        risk = RiskConfig.from_dict(cfg["risk"])
    sim = ExecutionSimulator(
        decode_decimal("config.initial_cash", cfg["initial_cash"]),
        latency=decode_latency(cfg["latency"]),
        slippage=decode_model(cfg["slippage"], "config.slippage"),
        commission=decode_model(cfg["commission"], "config.commission"),
        fill=decode_model(cfg["fill"], "config.fill"),
        risk=risk,
        seed=cfg["seed"],
        simulator_id=data["simulator_id"],
        instruments=[decode_instrument(i) for i in cfg["instruments"]],
        retain_history=cfg["retain_history"],
    )
    account = data["account"]
    sim.portfolio.cash = decode_decimal("account.cash", account["cash"])
    for record in account["positions"]:
        pos = sim.portfolio.position(record["symbol"])
        for name in ("quantity", "avg_price", "adjbase", "realized_pnl", "commission"):
            setattr(pos, name, decode_decimal(f"position.{name}", record[name]))
    sim.trading_state = decode_enum("account.trading_state", TradingState, account["trading_state"])
    sim.clock = decode_optional_datetime("timestamp", data["timestamp"])
    for record in data["last_bars"]:
        symbol = record.pop("symbol")
        sim.market.last_bar[symbol] = decode_bar(record)
    for record in data["bars_before"]:
        symbol = record.pop("symbol")
        sim.market.bar_before[symbol] = decode_bar(record)
    sim.market.last_price = {s: decode_decimal("last_prices", p) for s, p in data["last_prices"].items()}
    orders: dict[str, Order] = {}
    for record in data["orders"]:
        order = decode_order(record)
        orders[order.order_id] = order
    sim.book.orders = dict(orders)  # working orders get their records below
    _restore_working(sim, data, orders)
    sim.book.children = {k: list(v) for k, v in data["children"].items()}
    sim.book.oco = {k: list(v) for k, v in data["oco"].items()}
    _restore_queue(sim, data["queue"])
    counters = data["counters"]
    sim.book.order_counter, sim.events.sequence = counters["orders"], counters["events"]
    sim.book.working_sequence = counters["working"]
    rng = data["rng"]
    sim.rng = random.Random()
    sim.rng.setstate((rng["version"], tuple(rng["internal_state"]), rng["gauss_next"]))
    funds = data["pending_funds"]
    sim.ledger.batch_cash = decode_optional_decimal("pending_funds.cash", funds["cash"])
    sim.ledger.batch_positions = {
        e["symbol"]: (decode_decimal("pending_funds.quantity", e["quantity"]),
                      decode_decimal("pending_funds.avg_price", e["avg_price"]))
        for e in funds["positions"]
    }
    if (data["risk_state"] is None) != (sim.risk is None):
        raise CheckpointError("checkpoint risk state and risk configuration disagree")
    if sim.risk is not None:
        sim.risk.restore_state(data["risk_state"])
    return sim


def _restore_working(sim: ExecutionSimulator, data: JsonDict, orders: dict[str, Order]) -> None:
    by_symbol: dict[str, dict[str, WorkingOrder]] = {s: {} for s in data["book_symbols"]}
    for record in data["working"]:
        order_id = record["order_id"]
        order = orders.get(order_id)
        if order is None:
            raise CheckpointError(f"working order {order_id!r} has no order record")
        m = record["match"]
        match = MatchState(
            side=decode_enum("match.side", OrderSide, m["side"]),
            order_type=decode_enum("match.order_type", OrderType, m["order_type"]),
            stop=decode_optional_decimal("match.stop", m["stop"]),
            limit=decode_optional_decimal("match.limit", m["limit"]),
            trail_amount=decode_optional_decimal("match.trail_amount", m["trail_amount"]),
            trail_percent=decode_optional_decimal("match.trail_percent", m["trail_percent"]),
            triggered=m["triggered"],
        )
        match.limit_offset = decode_optional_decimal("match.limit_offset", m["limit_offset"])
        working = WorkingOrder(order, match, decode_datetime("submitted_at", record["submitted_at"]),
                               record["sequence"])
        working.live_from = decode_optional_datetime("live_from", record["live_from"])
        working.active = record["active"]
        working.venue_filled = decode_decimal("venue_filled", record["venue_filled"])
        working.cancel_at_venue = record["cancel_at_venue"]
        working.terminal = None if record["terminal"] is None else decode_enum(
            "terminal", OrderStatus, record["terminal"]).value
        working.terminal_reason = record["terminal_reason"]
        working.commission_charged = record["commission_charged"]
        working.in_flight_reports = record["in_flight_reports"]
        working.reference_price = decode_optional_decimal("reference_price", record.get("reference_price"))
        working.close_after = decode_optional_datetime("close_after", record.get("close_after"))
        working.session_end = decode_optional_datetime("session_end", record.get("session_end"))
        working.annotated = decode_optional_decimal("annotated", record.get("annotated"))
        working.annotated_at = decode_optional_datetime("annotated_at", record.get("annotated_at"))
        working.fixed_price = decode_optional_decimal("fixed_price", record.get("fixed_price"))
        if order_id in sim.book.working:
            raise CheckpointError(f"working order {order_id!r} appears twice")
        sim.book.working[order_id] = working
        sim.book.orders[order_id] = working
        book = by_symbol.get(order.symbol)
        if book is None:
            raise CheckpointError(f"symbol {order.symbol!r} of working order {order_id!r} is not in book_symbols")
        book[order_id] = working
    sim.book.by_symbol = {s: book for s, book in by_symbol.items() if book}
    if len(sim.book.by_symbol) != len(by_symbol):
        raise CheckpointError("book_symbols lists a symbol without working orders")


def _restore_queue(sim: ExecutionSimulator, queue: JsonDict) -> None:
    actions = []
    for record in queue["actions"]:
        kind = decode_enum("action.kind", ActionKind, record["kind"])
        fill = record["fill"]
        payload = None
        if fill is not None:
            payload = VenueFill(
                quantity=decode_decimal("fill.quantity", fill["quantity"]),
                price=decode_decimal("fill.price", fill["price"]),
                requested_price=decode_decimal("fill.requested_price", fill["requested_price"]),
                timestamp=decode_datetime("fill.timestamp", fill["timestamp"]),
                liquidity=decode_enum("fill.liquidity", LiquiditySide, fill["liquidity"]),
            )
        if (payload is None) != (kind is not ActionKind.FILL_REPORT):
            raise CheckpointError(f"queue action {record['sequence']} ({kind.value}) has a wrong payload")
        if record["sequence"] >= queue["next_sequence"]:
            raise CheckpointError(f"queue action sequence {record['sequence']} is not below next_sequence")
        actions.append(PendingAction(due_time=decode_datetime("due_time", record["due_time"]),
                                     sequence=record["sequence"], kind=kind, order_id=record["order_id"],
                                     payload=payload))
    sim.queue.restore(actions, queue["next_sequence"])

