"""Execution events, in the past tense.

The event stream is how every consumer (the Backtrader broker, the journal,
reports) learns what happened. Each event carries the simulated time at which
it happened and a per-simulator sequence number; order events also carry the
order as it stood right after the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from finbot_bt.contracts.enums import RejectionReason, TradingState
from finbot_bt.contracts.orders import Order, OrderExecution


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionEvent:
    """Base class: ``timestamp`` is simulated time, ``sequence`` is 1, 2, 3..."""

    timestamp: datetime
    sequence: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(ExecutionEvent):
    """An event about one order; ``order`` is its state right after the event."""

    order: Order

    @property
    def order_id(self) -> str:
        """Id of the order concerned."""
        return self.order.order_id


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted(OrderEvent):
    """The order left the account for the venue (submission latency starts)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(OrderEvent):
    """The order reached the venue and is working."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(OrderEvent):
    """The order was refused; ``reason`` is a code, ``message`` says why in words."""

    reason: RejectionReason
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(OrderEvent):
    """A fill reached the account (partial when ``order.remaining_quantity > 0``).

    ``closed_quantity``/``opened_quantity`` split the signed fill the way the
    position changed (closing part first); ``realized_pnl`` is the P&L of the
    closing part before commission; ``closed_commission`` is the part of the
    execution's commission charged on the closing part; ``position_quantity``/``position_avg_price``
    describe the position after the fill; ``latency_seconds`` is the time from
    submission to this report.
    """

    execution: OrderExecution
    closed_quantity: Decimal
    opened_quantity: Decimal
    realized_pnl: Decimal
    closed_commission: Decimal
    position_quantity: Decimal
    position_avg_price: Decimal
    requested_price: Decimal

    @property
    def is_partial(self) -> bool:
        """True if the order still has quantity left after this fill."""
        return self.order.remaining_quantity > 0

    @property
    def latency_seconds(self) -> float | None:
        """Seconds from the order's submission to this report (None if never submitted)."""
        submitted = self.order.submitted_at
        return None if submitted is None else (self.timestamp - submitted).total_seconds()


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(OrderEvent):
    """The order stopped working; ``reason`` says who cancelled it."""

    reason: str = "user"


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRejected(ExecutionEvent):
    """A cancel request was refused (unknown order, too late, already finished)."""

    order_id: str
    reason: RejectionReason
    message: str
    order: Order | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(OrderEvent):
    """The order's time in force ran out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged(ExecutionEvent):
    """The trading state changed (kill switch, drawdown latch, re-enable)."""

    previous: TradingState
    state: TradingState
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimitBreached(ExecutionEvent):
    """A risk limit was breached outside an order check (e.g. drawdown latch)."""

    rule: str
    reason: RejectionReason
    message: str
