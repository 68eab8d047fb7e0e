"""Checkpoint migrations: ``MIGRATIONS[v]`` turns a version ``v`` body into version ``v + 1``.

Version 2 -> 3 adds ``segment`` and ``summed`` to the journal mark (see
:func:`migrate_2_to_3`); 3 -> 4 adds ``bars_before`` (:func:`migrate_3_to_4`). The rest of this docstring is about 1 -> 2.

Version 1 is the original finbot's checkpoint layout (``"version": "1.0.0"``,
no envelope, no hash): latency as a profile name, positions as a
symbol -> quantity map, pending and completed order lists, costs as
``slippage_bps`` and ``commission_per_share``, and no pending action queue.
Migrating it to version 2 keeps everything it recorded and fills the rest
with what the original simulator implied: pending orders are working at the
venue, nothing is in flight, the RNG starts from seed 0. Risk rules of the
old format are not translated (the rule set changed): a file that has any
raises CheckpointError instead of being loaded without them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from finbot_bt.contracts.codec import decode_datetime, decode_decimal, encode_datetime
from finbot_bt.contracts.enums import RejectionReason
from finbot_bt.contracts.latency import LATENCY_PROFILES
from finbot_bt.errors import CheckpointError, ContractError

JsonDict = dict[str, Any]
LEGACY_VERSION = "1.0.0"
"""``version`` string of the original finbot checkpoints (our version 1)."""


def _latency(name: object) -> JsonDict:
    profile = LATENCY_PROFILES.get(str(name).lower()) if isinstance(name, str) else None
    if profile is None:
        raise CheckpointError(f"unknown latency_config_name {name!r}; expected one of {sorted(LATENCY_PROFILES)}")
    from finbot_bt.contracts.codec import encode_latency

    return encode_latency(profile)


def _execution(data: JsonDict) -> JsonDict:
    return {
        "execution_id": data["execution_id"], "quantity": data["quantity"], "price": data["price"],
        "commission": data["commission"], "slippage": "0", "timestamp": data["timestamp"],
        "liquidity": "taker", "reported_at": data["timestamp"],
    }


_REASONS = {r.value for r in RejectionReason}


def _order(data: JsonDict, *, pending: bool, now: str) -> JsonDict:
    status = data["status"]
    if pending and status in ("new", "submitted"):
        status = "accepted"  # the original's pending orders were at the venue
    filled = data["filled_quantity"]
    reason = data["rejection_reason"]
    message = data["rejection_message"]
    if reason is not None and reason not in _REASONS:
        message = f"{reason}: {message}" if message else reason
        reason = RejectionReason.INVALID_ORDER.value
    submitted = data["submitted_at"]
    return {
        "order_id": data["order_id"], "symbol": data["symbol"], "side": data["side"],
        "order_type": data["order_type"], "quantity": data["quantity"],
        "limit_price": data["limit_price"], "stop_price": None, "trail_amount": None, "trail_percent": None,
        "time_in_force": "gtc", "expire_at": None, "status": status, "filled_quantity": filled,
        "avg_fill_price": None if Decimal(filled) == 0 else data["avg_fill_price"],
        "executions": [_execution(e) for e in data["executions"]],
        "created_at": data["created_at"], "submitted_at": submitted,
        "accepted_at": (submitted or now) if pending else submitted,
        "filled_at": data["executions"][-1]["timestamp"] if status == "filled" and data["executions"] else None,
        "cancelled_at": data["cancelled_at"], "rejection_reason": reason, "rejection_message": message,
        "oco_group": None, "parent_id": None, "version": 1,
    }


def _working(order: JsonDict, sequence: int, now: str) -> JsonDict:
    live = order["submitted_at"] or now
    return {
        "order_id": order["order_id"],
        "match": {"side": order["side"], "order_type": order["order_type"], "stop": None,
                  "limit": order["limit_price"], "limit_offset": None, "trail_amount": None,
                  "trail_percent": None, "triggered": False},
        "live_from": live, "active": True, "venue_filled": order["filled_quantity"],
        "cancel_at_venue": False, "terminal": None, "terminal_reason": "",
        "submitted_at": order["submitted_at"] or order["created_at"] or now,
        "commission_charged": Decimal(order["filled_quantity"]) > 0, "in_flight_reports": 0,
        "sequence": sequence,
    }


def _model(kind: str, value: Any, field: str, zero_type: str) -> JsonDict:
    amount = decode_decimal(field, value)
    if amount == 0:
        return {"type": zero_type, "fields": {}}
    return {"type": kind, "fields": {"bps" if kind == "BasisPointsSlippage" else "rate": str(amount)}}


def migrate_1_to_2(old: JsonDict) -> JsonDict:
    """Original finbot "1.0.0" layout -> version 2 (see the module docstring)."""
    try:
        return _migrate_1_to_2(old)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, ContractError) as exc:
        raise CheckpointError(f"cannot migrate a finbot 1.0.0 checkpoint: {type(exc).__name__} {exc}") from None


def _migrate_1_to_2(old: JsonDict) -> JsonDict:
    risk = old.get("risk_config_data")
    if risk and set(risk) - {"trading_enabled"}:
        raise CheckpointError("the finbot 1.0.0 checkpoint has risk rules "
                              f"{sorted(set(risk) - {'trading_enabled'})}, which cannot be migrated; "
                              "rebuild the simulator with a RiskConfig")
    now = encode_datetime(decode_datetime("checkpoint_timestamp", old["checkpoint_timestamp"]))
    pending = [_order(o, pending=True, now=now) for o in old["pending_orders"]]
    completed = [_order(o, pending=False, now=now) for o in old["completed_orders"]]
    orders = completed + pending
    symbols = list(dict.fromkeys(o["symbol"] for o in pending))
    version, internal, gauss = random.Random(0).getstate()
    return {
        "version": 2,
        "simulator_id": old["simulator_id"],
        "timestamp": now,
        "config": {
            "initial_cash": old["initial_cash"], "seed": 0,
            "latency": _latency(old.get("latency_config_name", "INSTANT")),
            "slippage": _model("BasisPointsSlippage", old.get("slippage_bps", "5"), "slippage_bps", "NoSlippage"),
            "commission": _model("PerShareCommission", old.get("commission_per_share", "0"),
                                 "commission_per_share", "NoCommission"),
            "fill": {"type": "FillConfig", "fields": {}},
            "instruments": [], "risk": None, "retain_history": True,
        },
        "account": {
            "cash": old["cash"],
            "positions": [{"symbol": s, "quantity": q, "avg_price": "0", "adjbase": "0", "realized_pnl": "0",
                           "commission": "0"} for s, q in old["positions"].items()],
            "trading_state": "active" if old.get("trading_enabled", True) else "halted",
        },
        "last_bars": [], "last_prices": {},
        "orders": orders,
        "working": [_working(o, i, now) for i, o in enumerate(pending)],
        "book_symbols": symbols, "children": {}, "oco": {},
        "queue": {"next_sequence": 0, "actions": []},
        "counters": {"orders": len(orders), "events": 0, "working": len(pending)},
        "rng": {"version": version, "internal_state": list(internal), "gauss_next": gauss},
        "pending_funds": {"cash": None, "positions": []},
        "risk_state": None, "journal": None,
        "metadata": {"migrated_from": f"finbot {LEGACY_VERSION}"},
    }


def migrate_2_to_3(old: JsonDict) -> JsonDict:
    """Version 2 -> 3: the journal mark names its segment (``journal.jsonl``, the only one then)
    and says its lines carry no checksum."""
    body = dict(old)
    body["version"] = 3
    mark = body.get("journal")
    if isinstance(mark, dict):
        body["journal"] = {**mark, "segment": "journal.jsonl", "summed": False}
    return body


def migrate_3_to_4(old: JsonDict) -> JsonDict:
    """Version 3 -> 4: ``bars_before``, each symbol's bar before its last one, starts empty (a Close
    order resting at the checkpoint is then sized on the last bar until its symbol has a new bar)."""
    return {**old, "version": 4, "bars_before": []}


MIGRATIONS: dict[int, Callable[[JsonDict], JsonDict]] = {1: migrate_1_to_2, 2: migrate_2_to_3, 3: migrate_3_to_4}
"""Version -> function producing the next version's body."""


def migrate(body: JsonDict, version: int, target: int) -> JsonDict:
    """Apply migrations from ``version`` up to ``target``."""
    while version < target:
        step = MIGRATIONS.get(version)
        if step is None:
            raise CheckpointError(f"no migration from checkpoint version {version}")
        body = step(body)
        version += 1
    return body
