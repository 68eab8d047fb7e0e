"""Checkpoint schema: the JSON layout of a simulator checkpoint, validated with pydantic.

A checkpoint file is an envelope::

    {"format": "finbot_bt.checkpoint", "version": 4, "sha256": "<hex>", "body": {...}}

``sha256`` is the digest of the canonical JSON of ``body`` (keys sorted, no
spaces, UTF-8; see :func:`canonical_json`); a sealed file also has
``hmac_sha256``, the HMAC of the same bytes under the session key. The body
is a :class:`Checkpoint`.
All numbers that are money, prices or quantities are decimal strings;
datetimes are ISO 8601 strings (see :mod:`finbot_bt.contracts.codec`);
latencies are decimal seconds. Every model is strict and forbids unknown
keys, so a file that does not match the schema is refused with the path of
the bad field.

Version history: 1 is the original finbot "1.0.0" layout (no queue, latency
by profile name, positions as a symbol -> quantity map); 2 added the
envelope, the queue and the full state; 3 (this one) records the journal
segment and whether its lines carry checksums in the journal mark.
This module depends on the standard library and pydantic only.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from finbot_bt.contracts.codec import MAX_DECIMAL_CHARS
from finbot_bt.contracts.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    RejectionReason,
    TimeInForce,
    TradingState,
)

CHECKPOINT_VERSION = 4
"""Version of the checkpoint layout written by this release."""
CHECKPOINT_FORMAT = "finbot_bt.checkpoint"
"""Value of the envelope's ``format`` field."""
SIMULATOR_ID_PATTERN = r"^[^/\\:\x00-\x1f\x7f.][^/\\:\x00-\x1f\x7f]{0,127}$"
"""Simulator ids usable as a folder name: no path separators, no control characters, no leading dot."""
MAX_SIMULATOR_ID_BYTES = 128
"""Longest simulator id, in UTF-8 bytes (a folder name must fit every file system's limit)."""


# Formats are checked here with (fast, Rust-side) patterns; values (a month 13, a
# latency finer than a microsecond) are checked when the checkpoint is restored.
_NUMBER = r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE][+-]?\d{1,2})?"
_ISO = (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
        r"(?:Z|[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:\[[A-Za-z0-9_+\-/]{1,64}\])?")


def _member_of(enum: Any) -> Any:
    return StringConstraints(pattern="^(?:" + "|".join(m.value for m in enum) + ")$")


Dec = Annotated[str, StringConstraints(pattern=f"^{_NUMBER}$", max_length=MAX_DECIMAL_CHARS)]
OrderDec = Annotated[str, StringConstraints(pattern=f"^(?:{_NUMBER}|[+-]?(?:NaN|sNaN|Infinity))$",
                                            max_length=MAX_DECIMAL_CHARS)]
IsoTime = Annotated[str, StringConstraints(pattern=f"^{_ISO}$", max_length=100)]
Seconds = Dec
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]
Name = Annotated[str, Field(max_length=1024)]
SimulatorId = Annotated[str, Field(pattern=SIMULATOR_ID_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ExecutionRecord(_Model):
    """One fill of an order (see ``OrderExecution``)."""

    execution_id: Name
    quantity: Dec
    price: Dec
    commission: Dec
    slippage: Dec
    timestamp: IsoTime
    liquidity: Annotated[str, _member_of(LiquiditySide)]
    reported_at: IsoTime | None


class OrderRecord(_Model):
    """An order as the account knows it (see ``Order``)."""

    order_id: Name
    symbol: Name
    side: Annotated[str, _member_of(OrderSide)]
    order_type: Annotated[str, _member_of(OrderType)]
    quantity: OrderDec
    limit_price: OrderDec | None
    stop_price: OrderDec | None
    trail_amount: OrderDec | None
    trail_percent: OrderDec | None
    time_in_force: Annotated[str, _member_of(TimeInForce)]
    expire_at: IsoTime | None
    status: Annotated[str, _member_of(OrderStatus)]
    filled_quantity: OrderDec
    avg_fill_price: OrderDec | None
    executions: list[ExecutionRecord]
    created_at: IsoTime | None
    submitted_at: IsoTime | None
    accepted_at: IsoTime | None
    filled_at: IsoTime | None
    cancelled_at: IsoTime | None
    rejection_reason: Annotated[str, _member_of(RejectionReason)] | None
    rejection_message: str | None
    oco_group: Name | None
    parent_id: Name | None
    version: Count


class MatchRecord(_Model):
    """Matching state of a working order: current stop/limit, trigger, trail."""

    side: Annotated[str, _member_of(OrderSide)]
    order_type: Annotated[str, _member_of(OrderType)]
    stop: Dec | None
    limit: Dec | None
    limit_offset: Dec | None
    trail_amount: Dec | None
    trail_percent: Dec | None
    triggered: bool


class WorkingRecord(_Model):
    """What the venue knows of an open order (``live_from`` is None while it travels)."""

    order_id: Name
    match: MatchRecord
    live_from: IsoTime | None
    active: bool
    venue_filled: Dec
    cancel_at_venue: bool
    terminal: Annotated[str, _member_of(OrderStatus)] | None
    terminal_reason: str
    submitted_at: IsoTime
    commission_charged: bool
    in_flight_reports: Count
    sequence: Count
    reference_price: Dec | None = None
    close_after: IsoTime | None = None
    session_end: IsoTime | None = None
    annotated: Dec | None = None
    annotated_at: IsoTime | None = None
    fixed_price: Dec | None = None


class VenueFillRecord(_Model):
    """A fill travelling from the venue to the account."""

    quantity: Dec
    price: Dec
    requested_price: Dec
    timestamp: IsoTime
    liquidity: Annotated[str, _member_of(LiquiditySide)]


class ActionRecord(_Model):
    """One pending action of the latency queue."""

    due_time: IsoTime
    sequence: Count
    kind: Literal["submit", "fill_report", "cancel"]
    order_id: Name
    fill: VenueFillRecord | None


class QueueRecord(_Model):
    """The pending action queue: actions plus the next tie-breaking sequence number."""

    next_sequence: Count
    actions: list[ActionRecord]


class LatencyRecord(_Model):
    """Latency legs in decimal seconds (values, not a profile name)."""

    submission_latency: Seconds
    fill_latency_min: Seconds
    fill_latency_max: Seconds
    cancel_latency: Seconds
    name: Name


class ModelSpec(_Model):
    """A cost or fill model: registered type name plus dataclass fields (Decimals as strings)."""

    type: Name
    fields: dict[str, JsonValue]


class InstrumentRecord(_Model):
    """Trading terms of one symbol."""

    symbol: Name
    multiplier: Dec
    margin: Dec | None


class ConfigRecord(_Model):
    """Everything the simulator was built with."""

    initial_cash: Dec
    seed: int
    latency: LatencyRecord
    slippage: ModelSpec
    commission: ModelSpec
    fill: ModelSpec
    instruments: list[InstrumentRecord]
    risk: dict[str, JsonValue] | None
    retain_history: bool


class PositionRecord(_Model):
    """A position book entry; ``adjbase`` is the last mark of a futures-like position."""

    symbol: Name
    quantity: Dec
    avg_price: Dec
    adjbase: Dec
    realized_pnl: Dec
    commission: Dec


class AccountRecord(_Model):
    """Cash, positions and trading state."""

    cash: Dec
    positions: list[PositionRecord]
    trading_state: Annotated[str, _member_of(TradingState)]


class BarRecord(_Model):
    """The last bar seen for ``symbol``."""

    symbol: Name
    open: Dec
    high: Dec
    low: Dec
    close: Dec
    timestamp: IsoTime
    volume: Dec | None
    open_time: IsoTime | None
    session_close: bool


class RngRecord(_Model):
    """State of the simulator's ``random.Random`` (``getstate()``)."""

    version: Literal[3]
    internal_state: Annotated[list[Annotated[int, Field(ge=0, le=2**32)]], Field(min_length=625, max_length=625)]
    gauss_next: Annotated[float, Field(allow_inf_nan=False)] | None


class CountersRecord(_Model):
    """Id and sequence counters."""

    orders: Count
    events: Count
    working: Count


class FundsEntry(_Model):
    """Position as projected by orders submitted since the last market data."""

    symbol: Name
    quantity: Dec
    avg_price: Dec


class PendingFundsRecord(_Model):
    """The funds check's running projection between two market-data updates."""

    cash: Dec | None
    positions: list[FundsEntry]


class JournalMark(_Model):
    """Journal position at the checkpoint: last event sequence, byte offset after it, and its segment.

    ``summed`` says every journal line after the mark carries a checksum (lines without one are refused).
    """

    sequence: Count
    offset: Count
    segment: Annotated[str, StringConstraints(pattern=r"^journal(?:-\d{12,20})?\.jsonl$")]
    summed: bool


class Checkpoint(_Model):
    """A complete simulator state (the body of a checkpoint file).

    ``timestamp`` is the simulated clock (None before the first input).
    ``orders`` holds every order the simulator keeps in memory: open orders
    only when it runs with ``retain_history=False``. ``metadata`` is free JSON
    the caller attaches (e.g. the bar index a Backtrader run stopped at).
    """

    version: Literal[4]
    simulator_id: SimulatorId
    timestamp: IsoTime | None
    config: ConfigRecord
    account: AccountRecord
    last_bars: list[BarRecord]
    bars_before: list[BarRecord]  # each symbol's bar before its last one (a Close order's ago=-1)
    last_prices: dict[str, Dec]
    orders: list[OrderRecord]
    working: list[WorkingRecord]
    book_symbols: list[Name]
    children: dict[str, list[Name]]
    oco: dict[str, list[Name]]
    queue: QueueRecord
    counters: CountersRecord
    rng: RngRecord
    pending_funds: PendingFundsRecord
    risk_state: dict[str, JsonValue] | None
    journal: JournalMark | None
    metadata: dict[str, JsonValue]


def canonical_json(data: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, compact, UTF-8) hashed into the envelope."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
