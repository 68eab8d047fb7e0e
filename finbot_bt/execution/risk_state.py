"""The risk engine's checkpointed state and its breach value (private to the execution layer).

:func:`encode_risk_state` writes the runtime state of a
:class:`~finbot_bt.execution.risk.RiskEngine` as JSON-friendly values
(Decimals as str, dates ISO 8601); :func:`parse_risk_state` validates such a
dict with pydantic (unknown keys refused) and raises CheckpointError naming
the bad key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, ValidationError

from finbot_bt.contracts.enums import RejectionReason, TradingState
from finbot_bt.errors import CheckpointError

RISK_STATE_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskBreach:
    """A limit breached outside an order check; the simulator turns it into ``RiskLimitBreached``.

    ``rule`` names the config field (``"drawdown_limit.max_daily_drawdown_pct"``);
    ``state`` is the trading state the simulator moves to if ACTIVE.
    """

    rule: str
    reason: RejectionReason
    message: str
    state: TradingState = TradingState.REDUCING


class RiskStateSource(Protocol):
    """The runtime state of a risk engine (see ``RiskEngine``)."""

    peak_equity: Decimal | None
    daily_baseline: Decimal | None
    baseline_day: date | None
    last_equity: Decimal | None
    bucket_level: int
    bucket_unit: int
    bucket_refilled_at: datetime | None
    latched: bool
    latched_rule: str | None


class _BreachModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    reason: RejectionReason
    message: str
    state: TradingState


class RiskStateModel(BaseModel):
    """Schema of :func:`encode_risk_state`'s output."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    peak_equity: Decimal | None
    daily_baseline: Decimal | None
    baseline_day: date | None
    last_equity: Decimal | None
    bucket_level: StrictInt
    bucket_unit: StrictInt
    bucket_refilled_at: datetime | None
    latched: StrictBool
    latched_rule: str | None
    pending_breach: _BreachModel | None


def encode_risk_state(engine: RiskStateSource, pending: RiskBreach | None) -> dict[str, Any]:
    """``engine``'s state plus the breach not yet reported, as JSON-friendly values."""
    return {
        "version": RISK_STATE_VERSION,
        "peak_equity": _text(engine.peak_equity),
        "daily_baseline": _text(engine.daily_baseline),
        "baseline_day": engine.baseline_day.isoformat() if engine.baseline_day is not None else None,
        "last_equity": _text(engine.last_equity),
        "bucket_level": engine.bucket_level,
        "bucket_unit": engine.bucket_unit,
        "bucket_refilled_at": _iso(engine.bucket_refilled_at),
        "latched": engine.latched,
        "latched_rule": engine.latched_rule,
        "pending_breach": None if pending is None else {
            "rule": pending.rule, "reason": pending.reason.value, "message": pending.message,
            "state": pending.state.value,
        },
    }


def parse_risk_state(data: dict[str, Any]) -> tuple[RiskStateModel, RiskBreach | None]:
    """Validate :func:`encode_risk_state` output; the state and its pending breach."""
    try:
        parsed = RiskStateModel.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "state"
        raise CheckpointError(f"invalid risk state at {where!r}: {first['msg']}") from None
    breach = parsed.pending_breach
    return parsed, None if breach is None else RiskBreach(
        rule=breach.rule, reason=breach.reason, message=breach.message, state=breach.state)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
