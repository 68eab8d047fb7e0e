"""The simulator's order book (private to the execution layer).

``OrderBook`` holds every order as the account knows it (``orders``, by id, in
submission order: the working record of an open order; a finished one as its
``Order``, or as that order's field values until someone reads it; one refused
at submission as its ``Order``; read them as contracts with
:meth:`OrderBook.get` and :meth:`OrderBook.all_orders`), the working state of
the open ones (``working``, and per symbol in ``by_symbol`` with a
:class:`~finbot_bt.execution.resting.RestingIndex` each), the links between
orders (OCO groups and bracket parents' children, by id) and the counters that
make ids and time priority deterministic. Status changes go through
:meth:`OrderBook.update` (or its hot-path siblings :meth:`OrderBook.accept` and
:meth:`OrderBook.book_fill`), which apply the order status transition table and
set the working record's fields: the frozen ``Order`` is built only when read.
A finished order leaves through :meth:`OrderBook.retire`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderSide, OrderStatus
from finbot_bt.contracts.orders import Order, OrderExecution, order_from_fields
from finbot_bt.errors import ContractError
from finbot_bt.execution.matching import MatchState
from finbot_bt.execution.resting import RestingIndex
from finbot_bt.execution.working import ZERO, WorkingOrder


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class OrderBook:
    """Orders, working orders per symbol, OCO groups and bracket children of one simulator.

    Parameters
    ----------
    simulator_id : str
        Prefix of the ids made by :meth:`next_order_id`.
    retain_history : bool
        Keep finished orders in ``orders``; with False they are forgotten on retirement.
    """

    __slots__ = ("by_symbol", "children", "oco", "order_counter", "orders", "resting", "retain_history",
                 "simulator_id", "working", "working_sequence")

    def __init__(self, simulator_id: str, retain_history: bool) -> None:
        self.simulator_id = simulator_id
        self.retain_history = retain_history
        self.orders: dict[str, Order | WorkingOrder | tuple[Any, ...]] = {}
        self.working: dict[str, WorkingOrder] = {}
        self.by_symbol: dict[str, dict[str, WorkingOrder]] = {}
        # Price/expiry index per book; rebuilt from the book when out of sync (restore).
        self.resting: dict[str, RestingIndex] = {}
        self.children: dict[str, list[str]] = {}  # bracket parent id -> child ids, oldest first
        self.oco: dict[str, list[str]] = {}  # OCO group -> member ids, oldest first
        self.order_counter = 0
        self.working_sequence = 0  # time priority of the next working order

    def next_order_id(self) -> str:
        """A fresh deterministic order id, ``"{simulator_id}-{n}"``."""
        self.order_counter += 1
        return f"{self.simulator_id}-{self.order_counter}"

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders not yet finished, in submission order (optionally one symbol)."""
        if symbol is None:
            return [w.order for w in self.working.values()]
        return [w.order for w in self.by_symbol.get(symbol, {}).values()]

    def has_open(self, symbol: str) -> bool:
        """True if ``symbol`` has working orders."""
        return bool(self.by_symbol.get(symbol))

    def pending_quantity(self, symbol: str) -> Decimal | int:
        """Signed quantity the working orders of ``symbol`` have still to fill at the venue."""
        return sum(
            (w.base.signed_quantity - (w.venue_filled if w.base.side is OrderSide.BUY else -w.venue_filled))
            for w in self.by_symbol.get(symbol, {}).values()
        )

    def get(self, order_id: str) -> Order | None:
        """The order ``order_id`` as the account knows it, or None."""
        entry = self.orders.get(order_id)
        if entry is None or isinstance(entry, Order):
            return entry
        if isinstance(entry, WorkingOrder):
            return entry.order
        order = self.orders[order_id] = order_from_fields(entry)  # built once, when first read
        return order

    def status(self, order_id: str) -> OrderStatus | None:
        """The status of order ``order_id`` (without building it), or None."""
        entry = self.orders.get(order_id)
        if entry is None:
            return None
        if isinstance(entry, tuple):
            status: OrderStatus = entry[_STATUS_AT]
            return status
        return entry.status

    def all_orders(self) -> list[Order]:
        """Every order, in submission order, as the account knows it."""
        orders: list[Order] = []
        for order_id in list(self.orders):  # reading a finished order's values stores its Order
            order = self.get(order_id)
            assert order is not None
            orders.append(order)
        return orders

    def record(self, order: Order) -> None:
        """Store ``order`` as the account knows it (it replaces an older version)."""
        self.orders[order.order_id] = order

    def open(self, order: Order, submitted_at: datetime, created_at: datetime | None = None,
             expire_at: datetime | None = None) -> WorkingOrder:
        """File ``order`` as a working order, SUBMITTED at ``submitted_at``: in its symbol's book and its links.

        A NEW ``order`` takes ``created_at`` and ``expire_at`` (its own if None) as it enters;
        one already SUBMITTED is filed as it is."""
        working = WorkingOrder(order, match_state(order), submitted_at, self.working_sequence)
        if order.status is not OrderStatus.SUBMITTED:
            order.status.transition(OrderStatus.SUBMITTED)
            working.status = OrderStatus.SUBMITTED
            working.snapshot = None
        if created_at is not None:
            working.created_at = created_at
            working.snapshot = None
        if expire_at is not None:
            working.expire_at = expire_at
            working.snapshot = None
        self.orders[order.order_id] = working
        self.working_sequence += 1
        if order.parent_id is not None:
            working.active = self.status(order.parent_id) is OrderStatus.FILLED
        self.working[order.order_id] = working
        book = self.by_symbol.get(order.symbol)
        if book is None:
            book = self.by_symbol[order.symbol] = {}
        book[order.order_id] = working
        index = self.resting.get(order.symbol)
        if index is None or not index.track(book, working):
            self.resting[order.symbol] = RestingIndex(book)
        if order.oco_group is not None:
            self.oco.setdefault(order.oco_group, []).append(order.order_id)
        if order.parent_id is not None:
            self.children.setdefault(order.parent_id, []).append(order.order_id)
        return working

    def update(self, working: WorkingOrder, **changes: Any) -> None:
        """Change fields of ``working``'s order; a status change must be a legal transition.

        Only the fields that change while an order works (see ``WorkingOrder``) can change;
        another name raises ``TypeError``, a filled quantity outside ``[0, quantity]`` ContractError.
        """
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise TypeError(f"update() cannot change {sorted(unknown)}")
        target = changes.get("status")
        if target is not None and target is not working.status:
            working.status.transition(target)
        if "filled_quantity" in changes:
            _check_filled(changes["filled_quantity"], working.base.quantity)
        for name, value in changes.items():
            setattr(working, name, value)
        working.snapshot = None

    def accept(self, working: WorkingOrder, ts: datetime) -> None:
        """The order reached the venue at ``ts``: ACCEPTED (PENDING_CANCEL stays, with ``accepted_at``)."""
        if working.status is OrderStatus.SUBMITTED:
            working.status.transition(OrderStatus.ACCEPTED)
            working.status = OrderStatus.ACCEPTED
        working.accepted_at = ts
        working.snapshot = None

    def book_fill(self, working: WorkingOrder, execution: OrderExecution, ts: datetime) -> None:
        """Add ``execution`` to ``working``'s order, reported to the account at ``ts``."""
        previous = working.executions
        quantity = execution.quantity
        filled = working.filled_quantity + quantity
        _check_filled(filled, working.base.quantity)
        if previous:
            # From the executions, not the previous average: that one is rounded and would drift.
            avg = sum((e.quantity * e.price for e in previous), execution.price * quantity) / filled
        else:
            avg = execution.price
        status = working.status
        if filled >= working.base.quantity:
            target = OrderStatus.FILLED
        elif status is OrderStatus.ACCEPTED or status is OrderStatus.SUBMITTED:
            target = OrderStatus.PARTIALLY_FILLED
        else:
            target = status
        if target is not status:
            status.transition(target)
            working.status = target
        working.filled_quantity = filled
        working.avg_fill_price = avg
        working.executions = (*previous, execution)
        if target is OrderStatus.FILLED:
            working.filled_at = ts
        working.snapshot = None

    def resting_index(self, symbol: str) -> RestingIndex | None:
        """The price/expiry index of ``symbol``'s working orders (None without any)."""
        book = self.by_symbol.get(symbol)
        if not book:
            return None
        index = self.resting.get(symbol)
        if index is None or not index.in_sync(book):
            index = self.resting[symbol] = RestingIndex(book)
        return index

    def retire(self, working: WorkingOrder) -> None:
        """Forget a finished working order, and its links once every member is finished."""
        base = working.base
        order_id = base.order_id
        self.working.pop(order_id, None)
        if not self.retain_history:
            self.orders.pop(order_id, None)
        else:
            # Kept as the order's values (its Order if already built), not the working record: that
            # one would keep the matching state alive too. The Order is built when someone reads it.
            snapshot = working.snapshot
            self.orders[order_id] = snapshot if snapshot is not None else working.order_fields()
        book = self.by_symbol.get(base.symbol)
        if book is not None:
            book.pop(order_id, None)
            index = self.resting.get(base.symbol)
            if index is not None:
                index.remove(working)
            if not book:
                del self.by_symbol[base.symbol]
        # Groups are looked up by id; drop them once every member is finished.
        group = base.oco_group
        if group is not None and not any(i in self.working for i in self.oco.get(group, ())):
            self.oco.pop(group, None)
        parent_id = base.parent_id
        if parent_id is not None and parent_id not in self.working and not any(
            i in self.working for i in self.children.get(parent_id, ())
        ):
            self.children.pop(parent_id, None)
        if parent_id is None:
            kids = self.children.get(order_id)
            if kids is not None and not any(i in self.working for i in kids):
                del self.children[order_id]

    def referenced_orders(self, queued: set[str]) -> list[Order]:
        """Open orders and the finished ones something still refers to: a working child's
        parent, a link's member, an action in ``queued`` (what a checkpoint without history keeps)."""
        needed = set(self.working) | set(self.children) | queued
        for members in (*self.children.values(), *self.oco.values()):
            needed.update(members)
        return [o for o in self.all_orders() if o.status.is_open or o.order_id in needed]


_STATUS_AT = 11  # where the status lies in an order's field values
_MUTABLE = frozenset({"status", "filled_quantity", "avg_fill_price", "executions", "accepted_at", "filled_at",
                      "cancelled_at", "stop_price", "limit_price", "rejection_reason", "rejection_message"})


def _check_filled(filled: Decimal, quantity: Decimal) -> None:
    # The one invariant a change can break (Order's constructor message).
    if not isinstance(filled, Decimal) or not filled.is_finite() or filled < 0:
        raise ContractError(f"Order.filled_quantity must be finite and >= 0, got {filled}")
    if quantity.is_finite() and filled > max(quantity, ZERO):
        raise ContractError(f"Order.filled_quantity {filled} exceeds quantity {quantity}")

def match_state(order: Order) -> MatchState:
    """The matching state of a new working ``order``."""
    return MatchState(
        side=order.side, order_type=order.order_type, stop=order.stop_price, limit=order.limit_price,
        trail_amount=order.trail_amount, trail_percent=order.trail_percent,
    )
