"""The simulator's order book (private to the execution layer).

``OrderBook`` holds every order as the account knows it (``orders``, by id, in
submission order), the working state of the open ones (``working``, and per
symbol in ``by_symbol`` with a :class:`~finbot_bt.execution.resting.RestingIndex`
each), the links between orders (OCO groups and bracket parents' children, by
id) and the counters that make ids and time priority deterministic. Status
changes go through :meth:`OrderBook.update`, which applies the order status
transition table; a finished order leaves through :meth:`OrderBook.retire`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderSide, OrderStatus
from finbot_bt.contracts.orders import Order, evolve_order
from finbot_bt.execution.matching import MatchState
from finbot_bt.execution.resting import RestingIndex
from finbot_bt.execution.working import WorkingOrder


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
        self.orders: dict[str, Order] = {}
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
            (w.order.signed_quantity - (w.venue_filled if w.order.side is OrderSide.BUY else -w.venue_filled))
            for w in self.by_symbol.get(symbol, {}).values()
        )

    def record(self, order: Order) -> None:
        """Store ``order`` as the account knows it (it replaces an older version)."""
        self.orders[order.order_id] = order

    def open(self, order: Order, submitted_at: datetime) -> WorkingOrder:
        """Add a SUBMITTED ``order`` as a working order: filed in its symbol's book and its links."""
        self.orders[order.order_id] = order
        working = WorkingOrder(order, match_state(order), submitted_at, self.working_sequence)
        self.working_sequence += 1
        if order.parent_id is not None:
            parent_order = self.orders.get(order.parent_id)
            working.active = parent_order is not None and parent_order.status is OrderStatus.FILLED
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
        """Evolve ``working``'s order; a status change must be a legal transition."""
        order = working.order
        target = changes.get("status")
        if target is not None and target is not order.status:
            order.status.transition(target)
        new = evolve_order(order, **changes)
        working.order = new
        self.orders[new.order_id] = new

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
        order_id = working.order.order_id
        self.working.pop(order_id, None)
        if not self.retain_history:
            self.orders.pop(order_id, None)
        book = self.by_symbol.get(working.order.symbol)
        if book is not None:
            book.pop(order_id, None)
            index = self.resting.get(working.order.symbol)
            if index is not None:
                index.remove(working)
            if not book:
                del self.by_symbol[working.order.symbol]
        # Groups are looked up by id; drop them once every member is finished.
        group = working.order.oco_group
        if group is not None and not any(i in self.working for i in self.oco.get(group, ())):
            self.oco.pop(group, None)
        parent_id = working.order.parent_id
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
        return [o for o in self.orders.values() if o.status.is_open or o.order_id in needed]

def match_state(order: Order) -> MatchState:
    """The matching state of a new working ``order``."""
    return MatchState(
        side=order.side, order_type=order.order_type, stop=order.stop_price, limit=order.limit_price,
        trail_amount=order.trail_amount, trail_percent=order.trail_percent,
    )
