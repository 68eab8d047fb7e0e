"""Incremental view of an account's book for the risk engine (private to the execution layer).

``RiskBook`` keeps, per symbol, the remaining quantity of open buy and sell
orders and the symbol's share of equity and worst-case exposure, valued at the
simulator's last close. It is built once from the simulator, then kept up to
date by the simulator's events (submissions, fills, cancels, expiries,
rejections at the venue) and by :meth:`RiskBook.refresh_prices` after each bar,
so an order check costs O(1) instead of a scan of the whole book. Events and
bars only mark a symbol as changed; its terms are recomputed once, by
:meth:`RiskBook.settle`, when an order check next reads the totals (a round
trip changes a symbol three times between two checks).

Linked orders count once, as what they are. Orders of one link (the exits of
one bracket parent, else one OCO group) can never all fill: per symbol and
side a link contributes the largest remaining quantity of its members, not
their sum. Bracket exits are reduce-only: they can only close what their
parent has filled, so a link of exits contributes at most the parent's filled
quantity (nothing while the entry has not filled).

Per symbol with quantity ``q``, open buys ``B``, open sells ``S`` and unit
value ``u = last close * multiplier``:

* gross term ``max(|q + B|, |q - S|) * u`` (worst case if one side fills);
* net terms ``(q + B) * u`` (all buys fill) and ``(q - S) * u`` (all sells fill);
* equity term ``q * u``, or ``|q| * margin`` for futures-like instruments.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderSide
from finbot_bt.contracts.events import (
    ExecutionEvent,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from finbot_bt.contracts.orders import Order, OrderExecution
from finbot_bt.execution.accounting import Portfolio

ZERO = Decimal(0)
ONE = Decimal(1)
_FLAT = (ZERO, ZERO, ZERO, ZERO)


class BookSource(Protocol):
    """What the book reads from the simulator."""

    portfolio: Portfolio

    def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def add_listener(self, listener: Callable[[ExecutionEvent], None]) -> None: ...

    def add_record_listener(self, listener: Callable[[ExecutionEvent], None],
                            record: Callable[[type[Any], int, Any, dict[str, Any]], None]) -> None: ...

    def get_order(self, order_id: str) -> Order | None: ...


LinkKey = tuple[str, str, bool]
"""``(link, symbol, is buy)``: the orders that count once on one side of one symbol."""


def link_of(order: Order) -> str:
    """The link an order belongs to: its bracket parent, else its OCO group, else itself."""
    if order.parent_id is not None:
        return f"parent:{order.parent_id}"
    return f"oco:{order.oco_group}" if order.oco_group is not None else f"order:{order.order_id}"


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class _Link:
    __slots__ = ("filled", "members", "parent_id", "value")

    def __init__(self, parent_id: str | None) -> None:
        self.members: dict[str, Decimal] = {}  # order id -> remaining quantity
        self.parent_id = parent_id
        self.filled = ZERO  # what the members have filled so far (exits: already closed)
        self.value = ZERO  # what the link adds to its side: max remaining, capped for exits


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class RiskBook:
    """Per-symbol open quantities and running totals of exposure and position value."""

    __slots__ = ("_dirty", "_exits", "_followed", "_links", "_open", "_parent_filled", "_terms", "buys", "gross",
                 "missing",
                 "net_long", "net_short", "sells", "sim", "value")

    def __init__(self) -> None:
        self.sim: BookSource | None = None
        self._followed: BookSource | None = None
        self._open: dict[str, LinkKey] = {}  # order id -> its link
        self._links: dict[LinkKey, _Link] = {}
        self._parent_filled: dict[str, Decimal] = {}  # bracket parent id -> quantity filled so far
        self._exits: dict[str, set[LinkKey]] = {}  # bracket parent id -> its exits' links
        self.buys: dict[str, Decimal] = {}
        self.sells: dict[str, Decimal] = {}
        self._terms: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
        self.missing: set[str] = set()  # tracked symbols without a last close
        self._dirty: set[str] = set()  # symbols whose terms changed since the last settle()
        self.gross = self.net_long = self.net_short = self.value = ZERO

    def attach(self, sim: BookSource) -> None:
        """Build from ``sim`` and follow its events (no-op if already following it)."""
        if self.sim is sim:
            return
        self.rebuild(sim)
        if self._followed is not sim:
            self._followed = sim
            sim.add_record_listener(self.on_event, self.on_record)

    def invalidate(self) -> None:
        """Forget the view; the next :meth:`attach` rebuilds it (after a restore)."""
        self.sim = None

    def rebuild(self, sim: BookSource) -> None:
        """Recompute everything from ``sim``'s open orders and positions."""
        self.sim = sim
        self._open, self._links, self._parent_filled, self._exits = {}, {}, {}, {}
        self.buys, self.sells, self._terms, self.missing, self._dirty = {}, {}, {}, set(), set()
        self.gross = self.net_long = self.net_short = self.value = ZERO
        for order in sim.open_orders():
            self._add(order)
        symbols = set(self.buys) | set(self.sells)
        symbols.update(s for s, p in sim.portfolio.positions.items() if p.quantity != ZERO)
        for symbol in sorted(symbols):
            self.update(symbol)

    def on_event(self, event: ExecutionEvent) -> None:
        """Listener: apply an order event to the open quantities and the symbol's terms."""
        if self.sim is None or type(event) is OrderAccepted:  # the commonest event that changes nothing here
            return
        if isinstance(event, OrderSubmitted):
            self._add(event.order)
        elif isinstance(event, OrderFilled):
            self._reduce(event.order.order_id, event.execution.quantity, drop=False)
            if event.order.order_id in self._parent_filled:
                self._parent_fill(event.order.order_id, event.order.filled_quantity)
        elif isinstance(event, (OrderCancelled, OrderExpired, OrderRejected)):
            self._reduce(event.order.order_id, ZERO, drop=True)
        else:
            return
        self._dirty.add(event.order.symbol)

    def on_record(self, event_type: type[Any], sequence: int, working: Any, fields: dict[str, Any]) -> None:
        """Record listener: :meth:`on_event` for an order event not built (``working``: the order's record)."""
        if self.sim is None or event_type is OrderAccepted:
            return
        order_id: str = working.order_id
        if event_type is OrderSubmitted:
            filled: Decimal = working.filled_quantity
            self._add_open(working.base, working.base.quantity - filled, filled)  # no Order built
        elif event_type is OrderFilled:
            execution: OrderExecution = fields["execution"]
            self._reduce(order_id, execution.quantity, drop=False)
            if order_id in self._parent_filled:
                self._parent_fill(order_id, working.filled_quantity)
        elif event_type is OrderCancelled or event_type is OrderExpired or event_type is OrderRejected:
            self._reduce(order_id, ZERO, drop=True)
        else:
            return
        self._dirty.add(working.base.symbol)

    def _add(self, order: Order) -> None:
        self._add_open(order, order.quantity - order.filled_quantity, order.filled_quantity)

    def _add_open(self, order: Order, remaining: Decimal, filled: Decimal) -> None:
        # ``order``'s links and ids (fields that never change), with its current remaining and filled.
        parent_id = order.parent_id
        key = (link_of(order), order.symbol, order.side is OrderSide.BUY)
        link = self._links.get(key)
        if link is None:
            link = self._links[key] = _Link(parent_id)
            if parent_id is not None:
                if parent_id not in self._parent_filled:
                    parent = self.sim.get_order(parent_id) if self.sim is not None else None
                    self._parent_filled[parent_id] = parent.filled_quantity if parent is not None else ZERO
                self._exits.setdefault(parent_id, set()).add(key)
        self._open[order.order_id] = key
        link.members[order.order_id] = remaining
        link.filled += filled
        self._revalue(key, link)

    def _reduce(self, order_id: str, quantity: Decimal, *, drop: bool) -> None:
        key = self._open.get(order_id)
        if key is None:
            return  # refused before submission: never counted
        link = self._links[key]
        remaining = link.members[order_id]
        taken = remaining if drop else min(quantity, remaining)
        if not drop:
            link.filled += taken
        if drop or taken == remaining:
            del self._open[order_id]
            del link.members[order_id]
        else:
            link.members[order_id] = remaining - taken
        self._revalue(key, link)
        if not link.members:
            del self._links[key]
            parent_id = link.parent_id
            if parent_id is not None:
                exits = self._exits[parent_id]
                exits.discard(key)
                if not exits:
                    del self._exits[parent_id]
                    self._parent_filled.pop(parent_id, None)

    def _parent_fill(self, parent_id: str, filled: Decimal) -> None:
        self._parent_filled[parent_id] = filled
        for key in self._exits.get(parent_id, ()):
            self._revalue(key, self._links[key])
            self._dirty.add(key[1])

    def _link_value(self, link: _Link) -> Decimal:
        value = max(link.members.values(), default=ZERO)
        if link.parent_id is not None:
            value = min(value, max(self._parent_filled.get(link.parent_id, ZERO) - link.filled, ZERO))
        return value

    def _revalue(self, key: LinkKey, link: _Link) -> None:
        new = self._link_value(link)
        change = new - link.value
        if change == ZERO:
            return
        link.value = new
        _, symbol, is_buy = key
        side = self.buys if is_buy else self.sells
        total = side.get(symbol, ZERO) + change
        if total == ZERO:
            del side[symbol]
        else:
            side[symbol] = total

    def added_by(self, order: Order) -> Decimal:
        """How much ``order`` would add to the open quantity of its side (its worst case).

        Its quantity, unless it is linked: then what its link's value would grow by
        (nothing for an exit of an entry that has not filled, or for an OCO sibling
        no larger than one already open).
        """
        key = (link_of(order), order.symbol, order.side is OrderSide.BUY)
        link = self._links.get(key)
        if link is None and order.parent_id is None:
            return order.quantity
        members = link.members.values() if link is not None else ()
        value = max(order.quantity, *members) if members else order.quantity
        if order.parent_id is not None:
            filled = self._parent_filled.get(order.parent_id)
            if filled is None:
                parent = self.sim.get_order(order.parent_id) if self.sim is not None else None
                filled = parent.filled_quantity if parent is not None else ZERO
            value = min(value, max(filled - (link.filled if link is not None else ZERO), ZERO))
        return value - (link.value if link is not None else ZERO)

    def refresh_prices(self) -> None:
        """Mark every tracked symbol for revaluation at the last closes (after a bar)."""
        self._dirty.update(self._terms)
        self._dirty.update(self.missing)

    def settle(self) -> None:
        """Recompute the terms of every symbol changed since the last call; the totals
        (``gross``, ``net_long``, ``net_short``, ``value``, ``missing``) are current after it."""
        dirty = self._dirty
        if not dirty:
            return
        # Sorted: the order of Decimal additions must not depend on string hashing.
        for symbol in sorted(dirty) if len(dirty) > 1 else tuple(dirty):
            self.update(symbol)
        dirty.clear()

    def update(self, symbol: str) -> None:
        """Recompute ``symbol``'s terms and adjust the totals."""
        sim = self.sim
        if sim is None:
            return
        old = self._terms.pop(symbol, _FLAT)
        self.missing.discard(symbol)
        held = sim.portfolio.positions.get(symbol)
        quantity = held.quantity if held is not None else ZERO
        buys = self.buys.get(symbol, ZERO)
        sells = self.sells.get(symbol, ZERO)
        new = _FLAT
        if quantity != ZERO or buys != ZERO or sells != ZERO:
            price = sim.last_price(symbol)
            if price is None:
                self.missing.add(symbol)
            else:
                inst = sim.portfolio.instruments.get(symbol)
                unit = price * inst.multiplier if inst is not None else price
                margin = inst.margin if inst is not None else None
                long_side, short_side = quantity + buys, quantity - sells
                new = (
                    max(abs(long_side), abs(short_side)) * unit,
                    long_side * unit,
                    short_side * unit,
                    abs(quantity) * margin if margin is not None else quantity * unit,
                )
                self._terms[symbol] = new
        self.gross += new[0] - old[0]
        self.net_long += new[1] - old[1]
        self.net_short += new[2] - old[2]
        self.value += new[3] - old[3]

    def pending(self, symbol: str) -> tuple[Decimal, Decimal]:
        """Remaining quantity of open (buy, sell) orders on ``symbol``."""
        return self.buys.get(symbol, ZERO), self.sells.get(symbol, ZERO)


def equity_at_last_close(portfolio: Portfolio, last_price: Callable[[str], Decimal | None]) -> Decimal | None:
    """Cash plus positions at the last closes; None if a held symbol has no price."""
    total = portfolio.cash
    for symbol, held in portfolio.positions.items():
        if held.quantity == ZERO:
            continue
        inst = portfolio.instruments.get(symbol)
        if inst is not None and inst.margin is not None:
            total += abs(held.quantity) * inst.margin
            continue
        price = last_price(symbol)
        if price is None:
            return None
        total += held.quantity * price * (inst.multiplier if inst is not None else ONE)
    return total


def multiplier(portfolio: Portfolio, symbol: str) -> Decimal:
    """Contract multiplier of ``symbol`` without registering it (1 if unknown)."""
    inst = portfolio.instruments.get(symbol)
    return inst.multiplier if inst is not None else ONE
