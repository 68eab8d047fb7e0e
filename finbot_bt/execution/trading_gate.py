"""The trading state and the pre-trade checks (private to the execution layer).

``TradingGate`` decides whether a new order may enter the book. Checks, in
order; the first refusal wins and comes back as ``(RejectionReason, message)``:

1. validation of the order's fields (:func:`~finbot_bt.execution.validation.validate_order`);
2. a bracket child needs a parent that is working or filled;
3. the trading state: nothing while HALTED (kill switch); while REDUCING
   (drawdown latch) only orders that shrink their position;
4. the risk engine's rules, if one is configured;
5. the funds check (``FillConfig.check_funds_on_submit``).

While ``bypass`` is set (flattening after a kill switch, ``exempt`` orders)
only the first two apply. The gate also holds the trading state, emitting
``TradingStateChanged`` when it moves, and turns a drawdown breach seen after
a bar into ``RiskLimitBreached``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderStatus, RejectionReason, TradingState
from finbot_bt.contracts.events import RiskLimitBreached, TradingStateChanged
from finbot_bt.contracts.orders import Order
from finbot_bt.execution.event_bus import EventBus
from finbot_bt.execution.fills import FillConfig
from finbot_bt.execution.ledger import Ledger
from finbot_bt.execution.market_view import MarketView
from finbot_bt.execution.order_book import OrderBook
from finbot_bt.execution.validation import validate_order

if TYPE_CHECKING:
    from finbot_bt.execution.risk import RiskContext, RiskEngine

ZERO = Decimal(0)
Refusal = tuple[RejectionReason, str]


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class TradingGate:
    """Trading state plus the checks an order passes before it is accepted.

    Parameters
    ----------
    account : RiskContext
        What the risk engine reads (the simulator).
    risk : RiskEngine or None
    """

    __slots__ = ("account", "book", "bypass", "events", "fill", "ledger", "market", "risk", "state")

    def __init__(self, account: RiskContext, risk: RiskEngine | None, book: OrderBook, ledger: Ledger,
                 market: MarketView, events: EventBus, fill: FillConfig) -> None:
        self.account = account
        self.risk = risk
        self.book = book
        self.ledger = ledger
        self.market = market
        self.events = events
        self.fill = fill
        self.state = TradingState.ACTIVE
        self.bypass = False

    def pre_trade(self, order: Order, ts: datetime, reference_price: Decimal | None) -> Refusal | None:
        """None if ``order`` may enter the book at ``ts``, else why not (see the module docstring)."""
        invalid = validate_order(order)
        if invalid is not None:
            return invalid
        if order.parent_id is not None:
            parent = self.book.status(order.parent_id)
            # A child of a filled parent is active at once (BackBroker never activates it).
            if parent is None or (parent.is_terminal and parent is not OrderStatus.FILLED):
                return (RejectionReason.PARENT_INACTIVE,
                        f"parent order {order.parent_id!r} is unknown or no longer working")
        if self.bypass:
            return None
        if self.state is TradingState.HALTED:
            return (RejectionReason.RISK_TRADING_DISABLED, "trading is disabled (kill switch); "
                    "call enable_trading() to resume")
        risk = self.risk
        if self.state is TradingState.REDUCING and not self.reduces_position(order) \
                and not (risk is not None and risk.adds_nothing(order, self.account)):  # linked exits count once
            return (RejectionReason.RISK_DRAWDOWN_LIMIT,
                    "trading is latched to reducing-only after a drawdown breach; "
                    f"{order.side.value} {order.quantity} {order.symbol} would not reduce the position")
        if risk is not None:
            refusal = risk.check_order(order, self.account, ts)
            if refusal is not None:
                return refusal
        if self.fill.check_funds_on_submit:
            price = reference_price if reference_price is not None else self.market.reference_price(order)
            return self.ledger.check_funds(order, price)
        return None

    def reduces_position(self, order: Order) -> bool:
        """True if ``order`` shrinks its position even after every open order of its symbol fills."""
        pos = self.ledger.portfolio.positions.get(order.symbol)
        quantity = pos.quantity if pos is not None else ZERO
        pending = self.book.pending_quantity(order.symbol)
        after = quantity + pending + order.signed_quantity
        return abs(after) <= abs(quantity + pending) and (after == ZERO or (after > ZERO) == (quantity > ZERO))

    def set_state(self, state: TradingState, reason: str, ts: datetime) -> None:
        """Move to ``state``; emits ``TradingStateChanged`` if it is a change."""
        previous = self.state
        if previous is state:
            return
        self.state = state
        self.events.emit(TradingStateChanged, timestamp=ts, previous=previous, state=state, reason=reason)

    def enable(self, ts: datetime, reason: str) -> None:
        """Back to ACTIVE; clears the risk engine's drawdown latch."""
        if self.risk is not None:
            self.risk.reset_latch(self.account, ts)
        self.set_state(TradingState.ACTIVE, reason, ts)

    def after_bar(self, ts: datetime) -> None:
        """Let the risk engine observe equity; a new breach is emitted and, if ACTIVE, latches the state."""
        if self.risk is None:
            return
        breach = self.risk.on_market_data(self.account, ts)
        if breach is not None:
            self.events.emit(RiskLimitBreached, timestamp=ts, rule=breach.rule, reason=breach.reason,
                             message=breach.message)
            if self.state is TradingState.ACTIVE:
                self.set_state(breach.state, breach.message, ts)
