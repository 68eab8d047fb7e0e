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

Per symbol with quantity ``q``, open buys ``B``, open sells ``S`` and unit
value ``u = last close * multiplier``:

* gross term ``max(|q + B|, |q - S|) * u`` (worst case if one side fills);
* net terms ``(q + B) * u`` (all buys fill) and ``(q - S) * u`` (all sells fill);
* equity term ``q * u``, or ``|q| * margin`` for futures-like instruments.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from finbot_bt.contracts.enums import OrderSide
from finbot_bt.contracts.events import (
    ExecutionEvent,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from finbot_bt.contracts.orders import Order
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


class RiskBook:
    """Per-symbol open quantities and running totals of exposure and position value."""

    __slots__ = ("_dirty", "_followed", "_open", "_terms", "buys", "gross", "missing", "net_long", "net_short",
                 "sells", "sim", "value")

    def __init__(self) -> None:
        self.sim: BookSource | None = None
        self._followed: BookSource | None = None
        self._open: dict[str, tuple[str, bool, Decimal]] = {}  # order id -> (symbol, is buy, remaining)
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
            sim.add_listener(self.on_event)

    def invalidate(self) -> None:
        """Forget the view; the next :meth:`attach` rebuilds it (after a restore)."""
        self.sim = None

    def rebuild(self, sim: BookSource) -> None:
        """Recompute everything from ``sim``'s open orders and positions."""
        self.sim = sim
        self._open = {}
        self.buys, self.sells, self._terms, self.missing, self._dirty = {}, {}, {}, set(), set()
        self.gross = self.net_long = self.net_short = self.value = ZERO
        for order in sim.open_orders():
            self._add(order.order_id, order.symbol, order.side is OrderSide.BUY, order.remaining_quantity)
        symbols = set(self.buys) | set(self.sells)
        symbols.update(s for s, p in sim.portfolio.positions.items() if p.quantity != 0)
        for symbol in sorted(symbols):
            self.update(symbol)

    def on_event(self, event: ExecutionEvent) -> None:
        """Listener: apply an order event to the open quantities and the symbol's terms."""
        if self.sim is None:
            return
        if isinstance(event, OrderSubmitted):
            order = event.order
            self._add(order.order_id, order.symbol, order.side is OrderSide.BUY, order.remaining_quantity)
        elif isinstance(event, OrderFilled):
            self._reduce(event.order.order_id, event.execution.quantity, drop=False)
        elif isinstance(event, (OrderCancelled, OrderExpired, OrderRejected)):
            self._reduce(event.order.order_id, ZERO, drop=True)
        else:
            return
        self._dirty.add(event.order.symbol)

    def _add(self, order_id: str, symbol: str, is_buy: bool, remaining: Decimal) -> None:
        self._open[order_id] = (symbol, is_buy, remaining)
        side = self.buys if is_buy else self.sells
        side[symbol] = side.get(symbol, ZERO) + remaining

    def _reduce(self, order_id: str, quantity: Decimal, *, drop: bool) -> None:
        entry = self._open.get(order_id)
        if entry is None:
            return  # refused before submission: never counted
        symbol, is_buy, remaining = entry
        taken = remaining if drop else min(quantity, remaining)
        if drop or taken == remaining:
            del self._open[order_id]
        else:
            self._open[order_id] = (symbol, is_buy, remaining - taken)
        side = self.buys if is_buy else self.sells
        left = side[symbol] - taken
        if left == 0:
            del side[symbol]
        else:
            side[symbol] = left

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
        if quantity != 0 or buys != 0 or sells != 0:
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
        if held.quantity == 0:
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
