"""Per-order working state kept by the simulator (private to the execution layer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import LiquiditySide
from finbot_bt.contracts.orders import Order
from finbot_bt.execution.matching import MatchState

ZERO = Decimal(0)


@mypyc_attr(native_class=False)  # compiled: a plain class, so a queued fill report pickles
@dataclass(slots=True, kw_only=True)
class VenueFill:
    """A fill that happened at the venue and is travelling to the account.

    Treated as immutable; not declared frozen because a frozen dataclass's constructor
    costs about three times as much and this record is built on every fill.
    """

    quantity: Decimal
    price: Decimal
    requested_price: Decimal
    timestamp: datetime
    liquidity: LiquiditySide


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class WorkingOrder:
    """An open order plus what the venue and the account know about it.

    ``live_from`` is when the order reached the venue (None while in flight);
    ``venue_filled`` counts fills done at the venue, reported or not;
    ``terminal`` is a terminal status decided at the venue but held back until
    every fill report has reached the account.
    """

    __slots__ = (
        "active",
        "annotated",
        "annotated_at",
        "cancel_at_venue",
        "close_after",
        "commission_charged",
        "fixed_price",
        "in_flight_reports",
        "live_from",
        "match",
        "order",
        "reference_price",
        "sequence",
        "session_end",
        "submitted_at",
        "terminal",
        "terminal_reason",
        "venue_filled",
    )

    def __init__(self, order: Order, match: MatchState, submitted_at: datetime, sequence: int) -> None:
        self.order = order
        self.match = match
        self.live_from: datetime | None = None
        self.active = order.parent_id is None
        self.venue_filled = ZERO
        self.cancel_at_venue = False
        self.terminal: str | None = None
        self.terminal_reason = ""
        self.submitted_at = submitted_at
        self.commission_charged = False
        self.in_flight_reports = 0
        self.sequence = sequence
        self.reference_price: Decimal | None = None
        # Backtrader's Close rule (see ExecutionSimulator.submit_order's ``close_session``).
        self.close_after: datetime | None = None
        self.session_end: datetime | None = None
        self.annotated: Decimal | None = None
        self.annotated_at: datetime | None = None
        self.fixed_price: Decimal | None = None  # a recorded trade: fills at this price on its first bar

    @property
    def venue_remaining(self) -> Decimal:
        return self.order.quantity - self.venue_filled

    @property
    def at_venue(self) -> bool:
        return self.live_from is not None and self.terminal is None
