"""Enumerations shared by the order contracts.

Values are stable lowercase strings so that checkpoints and journals read
well and survive reordering of members.
"""

from __future__ import annotations

from enum import StrEnum

from finbot_bt.errors import InvalidStateTransition


class OrderSide(StrEnum):
    """Direction of an order."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buys, -1 for sells."""
        return 1 if self is OrderSide.BUY else -1


class OrderType(StrEnum):
    """How an order is priced against the market."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"
    TRAILING_STOP_LIMIT = "trailing_stop_limit"
    MARKET_ON_CLOSE = "market_on_close"


class TimeInForce(StrEnum):
    """How long an order stays working."""

    GTC = "gtc"
    DAY = "day"
    GTD = "gtd"
    IOC = "ioc"
    FOK = "fok"


class LiquiditySide(StrEnum):
    """Whether a fill added liquidity (resting limit) or took it."""

    MAKER = "maker"
    TAKER = "taker"


class TradingState(StrEnum):
    """Trading state of the simulator's risk layer."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class RejectionReason(StrEnum):
    """Typed reason codes carried by rejection events."""

    INVALID_QUANTITY = "invalid_quantity"
    INVALID_PRICE = "invalid_price"
    INVALID_SYMBOL = "invalid_symbol"
    INVALID_ORDER = "invalid_order"
    DUPLICATE_ORDER = "duplicate_order"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    UNKNOWN_ORDER = "unknown_order"
    TOO_LATE_TO_CANCEL = "too_late_to_cancel"
    PARENT_INACTIVE = "parent_inactive"
    RISK_POSITION_LIMIT = "risk_position_limit"
    RISK_EXPOSURE_LIMIT = "risk_exposure_limit"
    RISK_DRAWDOWN_LIMIT = "risk_drawdown_limit"
    RISK_ORDER_RATE = "risk_order_rate"
    RISK_ORDER_SIZE = "risk_order_size"
    RISK_TRADING_DISABLED = "risk_trading_disabled"
    RISK_NO_PRICE = "risk_no_price"


class OrderStatus(StrEnum):
    """Life-cycle state of an order; changes go through :meth:`transition`."""

    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """True for statuses after which nothing may change."""
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """True while the order can still trade."""
        return self not in _TERMINAL

    def can_transition(self, target: OrderStatus) -> bool:
        """Tell whether the table allows moving from this status to ``target``."""
        return target in _TRANSITIONS[self]

    def transition(self, target: OrderStatus) -> OrderStatus:
        """Return ``target`` if the move is legal, else raise InvalidStateTransition."""
        if target not in _TRANSITIONS[self]:
            raise InvalidStateTransition(
                f"order status cannot change from {self.value!r} to {target.value!r}"
            )
        return target


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

_LIVE_EXITS = frozenset(
    {
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
    }
)

# The one transition table. REJECTED is reachable from live states because a
# fill can be refused for lack of funds at execution time (BackBroker's Margin).
_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.SUBMITTED, OrderStatus.REJECTED}),
    OrderStatus.SUBMITTED: frozenset(
        {
            OrderStatus.ACCEPTED,
            OrderStatus.REJECTED,
            OrderStatus.PENDING_CANCEL,
            OrderStatus.CANCELLED,
        }
    ),
    OrderStatus.ACCEPTED: _LIVE_EXITS,
    OrderStatus.PARTIALLY_FILLED: _LIVE_EXITS,
    OrderStatus.PENDING_CANCEL: frozenset(
        {
            OrderStatus.ACCEPTED,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.REJECTED,
            OrderStatus.EXPIRED,
        }
    ),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}
