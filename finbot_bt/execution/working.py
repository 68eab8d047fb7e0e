"""Per-order working state kept by the simulator (private to the execution layer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import LiquiditySide
from finbot_bt.contracts.orders import Order, evolve_order
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
    """An open order's working record: its changing state, plus what the venue and the account know.

    The record is the order's state inside the simulator: plain mutable fields,
    changed without validation as the order moves (the fields of the ``Order``
    contract that change while it works: ``status``, ``filled_quantity``,
    ``avg_fill_price``, ``executions``, the ``accepted_at``/``filled_at``/
    ``cancelled_at`` times, the trailing ``stop_price``/``limit_price`` and the
    rejection) and the ones set as it enters the book (``created_at``,
    ``expire_at``, ``submitted_at``). ``base`` is the order as it was submitted;
    its other fields never change. The frozen :class:`~finbot_bt.contracts.orders.Order` is
    built only when someone reads :attr:`order` (and kept until the next change),
    not at every transition. Changes go through the order book
    (:meth:`~finbot_bt.execution.order_book.OrderBook.update` and its
    siblings), which check status transitions and drop the kept snapshot.

    ``live_from`` is when the order reached the venue (None while in flight);
    ``venue_filled`` counts fills done at the venue, reported or not;
    ``terminal`` is a terminal status decided at the venue but held back until
    every fill report has reached the account.
    """

    __slots__ = (
        "accepted_at",
        "active",
        "annotated",
        "annotated_at",
        "avg_fill_price",
        "base",
        "cancel_at_venue",
        "cancelled_at",
        "close_after",
        "commission_charged",
        "created_at",
        "executions",
        "expire_at",
        "filled_at",
        "filled_quantity",
        "fixed_price",
        "in_flight_reports",
        "limit_price",
        "live_from",
        "match",
        "reference_price",
        "rejection_message",
        "rejection_reason",
        "sequence",
        "session_end",
        "snapshot",
        "status",
        "stop_price",
        "submitted_at",
        "terminal",
        "terminal_reason",
        "venue_filled",
    )

    def __init__(self, order: Order, match: MatchState, submitted_at: datetime, sequence: int) -> None:
        self.base = order
        self.status = order.status
        self.filled_quantity = order.filled_quantity
        self.avg_fill_price = order.avg_fill_price
        self.executions = order.executions
        self.accepted_at = order.accepted_at
        self.filled_at = order.filled_at
        self.cancelled_at = order.cancelled_at
        self.created_at = order.created_at
        self.expire_at = order.expire_at
        self.stop_price = order.stop_price
        self.limit_price = order.limit_price
        self.rejection_reason = order.rejection_reason
        self.rejection_message = order.rejection_message
        self.snapshot: Order | None = order  # the contract as of the last change (None: build on read)
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
    def order(self) -> Order:
        """The order as the account knows it now (the frozen contract, built on first read after a change)."""
        snapshot = self.snapshot
        if snapshot is None:
            snapshot = self.snapshot = evolve_order(
                self.base, status=self.status, filled_quantity=self.filled_quantity,
                avg_fill_price=self.avg_fill_price, executions=self.executions, accepted_at=self.accepted_at,
                filled_at=self.filled_at, cancelled_at=self.cancelled_at, stop_price=self.stop_price,
                limit_price=self.limit_price, rejection_reason=self.rejection_reason,
                rejection_message=self.rejection_message, created_at=self.created_at, expire_at=self.expire_at,
                submitted_at=self.submitted_at)
        return snapshot

    @property
    def order_id(self) -> str:
        return self.base.order_id

    def order_values(self) -> tuple[Any, ...]:
        """The order's field values in the contract's field order, ``executions`` left out
        (what :attr:`order` would hold, without building it)."""
        b = self.base
        return (b.order_id, b.symbol, b.side, b.order_type, b.quantity, self.limit_price, self.stop_price,
                b.trail_amount, b.trail_percent, b.time_in_force, self.expire_at, self.status, self.filled_quantity,
                self.avg_fill_price, self.created_at, self.submitted_at, self.accepted_at, self.filled_at,
                self.cancelled_at, self.rejection_reason, self.rejection_message, b.oco_group, b.parent_id,
                b.version)

    def order_fields(self) -> tuple[Any, ...]:
        """Every field value of the order, in the contract's field order (what :attr:`order` holds)."""
        b = self.base
        return (b.order_id, b.symbol, b.side, b.order_type, b.quantity, self.limit_price, self.stop_price,
                b.trail_amount, b.trail_percent, b.time_in_force, self.expire_at, self.status, self.filled_quantity,
                self.avg_fill_price, self.executions, self.created_at, self.submitted_at, self.accepted_at,
                self.filled_at, self.cancelled_at, self.rejection_reason, self.rejection_message, b.oco_group,
                b.parent_id, b.version)

    @property
    def venue_remaining(self) -> Decimal:
        return self.base.quantity - self.venue_filled

    @property
    def at_venue(self) -> bool:
        return self.live_from is not None and self.terminal is None
