"""TradingGate: the pre-trade checks in order, the trading state and the bypass."""

from __future__ import annotations

from finbot_bt.contracts import (
    RejectionReason,
    TradingState,
    TradingStateChanged,
)
from finbot_bt.contracts.risk import OrderSizeRule, RiskConfig
from tests.factories import T0, d, of, order, primed, record

R = RejectionReason


def test_trading_gate_when_order_is_invalid_then_validation_refuses_before_the_state() -> None:
    sim = primed()
    sim.gate.state = TradingState.HALTED
    refusal = sim.gate.pre_trade(order(order_type="limit"), T0, None)  # a limit order without a limit price
    assert refusal is not None and refusal[0] is R.INVALID_PRICE


def test_trading_gate_when_halted_then_refuses_unless_bypassed() -> None:
    sim = primed()
    sim.gate.state = TradingState.HALTED
    refusal = sim.gate.pre_trade(order(), T0, None)
    assert refusal is not None and refusal[0] is R.RISK_TRADING_DISABLED
    sim.gate.bypass = True
    assert sim.gate.pre_trade(order(), T0, None) is None


def test_trading_gate_when_reducing_then_only_orders_that_shrink_the_position_pass() -> None:
    sim = primed()
    sim.submit_order(order(quantity=10), T0)
    sim.process_market_data(T0, {"SPY": d(100)})  # fills the buy
    sim.gate.state = TradingState.REDUCING
    assert sim.gate.pre_trade(order("sell", 10), T0, None) is None
    refusal = sim.gate.pre_trade(order("buy", 1), T0, None)
    assert refusal is not None and refusal[0] is R.RISK_DRAWDOWN_LIMIT
    refusal = sim.gate.pre_trade(order("sell", 11), T0, None)  # would flip to short
    assert refusal is not None and refusal[0] is R.RISK_DRAWDOWN_LIMIT


def test_trading_gate_when_risk_refuses_then_funds_are_not_checked() -> None:
    sim = primed(cash=10, risk=RiskConfig(order_size=OrderSizeRule(max_order_quantity=d(5))))
    refusal = sim.gate.pre_trade(order(quantity=6), T0, None)
    assert refusal is not None and refusal[0] is R.RISK_ORDER_SIZE
    assert sim.ledger.batch_cash is None


def test_trading_gate_when_funds_short_then_refuses_at_the_given_price() -> None:
    sim = primed(cash=1000)
    assert sim.gate.pre_trade(order(quantity=10), T0, d(90)) is None
    refusal = sim.gate.pre_trade(order(quantity=1), T0, d(200))
    assert refusal is not None and refusal[0] is R.INSUFFICIENT_FUNDS


def test_trading_gate_when_state_set_twice_then_one_event() -> None:
    sim = primed()
    events = record(sim)
    sim.gate.set_state(TradingState.HALTED, "stop", T0)
    sim.gate.set_state(TradingState.HALTED, "stop again", T0)
    changes = of(events, TradingStateChanged)
    assert [(e.previous, e.state, e.reason) for e in changes] == [
        (TradingState.ACTIVE, TradingState.HALTED, "stop")]
