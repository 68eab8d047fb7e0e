"""Engine-agnostic contracts of finbot_bt: orders, executions, events, latency, market data.

Typed, immutable, versioned value objects. This layer depends on the
standard library and pydantic only; it knows nothing of Backtrader or of the
simulator built around it.
"""

from finbot_bt.contracts.checkpoint import CHECKPOINT_VERSION
from finbot_bt.contracts.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    RejectionReason,
    TimeInForce,
    TradingState,
)
from finbot_bt.contracts.events import (
    CancelRejected,
    ExecutionEvent,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RiskLimitBreached,
    TradingStateChanged,
)
from finbot_bt.contracts.latency import (
    LATENCY_FAST,
    LATENCY_INSTANT,
    LATENCY_NORMAL,
    LATENCY_PROFILES,
    LATENCY_SLOW,
    LatencyConfig,
    latency_profile,
    resolve_latency,
)
from finbot_bt.contracts.market import Bar, MarketPrice
from finbot_bt.contracts.orders import ORDER_CONTRACT_VERSION, Order, OrderExecution
from finbot_bt.contracts.positions import Instrument, Position
from finbot_bt.contracts.risk import (
    RATE_LIMIT_PRESETS,
    DrawdownLimitRule,
    ExposureLimitRule,
    OrderRateLimit,
    OrderSizeRule,
    PositionLimitRule,
    RiskConfig,
    SymbolPositionLimit,
    rate_limit_preset,
)

__all__ = [
    "CHECKPOINT_VERSION", "LATENCY_FAST", "LATENCY_INSTANT", "LATENCY_NORMAL", "LATENCY_PROFILES", "LATENCY_SLOW",
    "ORDER_CONTRACT_VERSION", "Bar", "CancelRejected", "ExecutionEvent", "Instrument",
    "LatencyConfig", "LiquiditySide", "MarketPrice", "Order", "OrderAccepted", "OrderCancelled",
    "OrderEvent", "OrderExecution", "OrderExpired", "OrderFilled", "OrderRejected", "OrderSide",
    "OrderStatus", "OrderSubmitted", "OrderType", "Position", "RejectionReason", "RiskLimitBreached",
    "TimeInForce", "TradingState", "TradingStateChanged", "latency_profile", "resolve_latency",
    "RATE_LIMIT_PRESETS", "DrawdownLimitRule", "ExposureLimitRule", "OrderRateLimit", "OrderSizeRule",
    "PositionLimitRule", "RiskConfig", "SymbolPositionLimit", "rate_limit_preset",
]
