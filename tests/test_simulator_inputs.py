"""Simulator robustness: funds checks, bad input, trading state, determinism."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from finbot_bt.contracts import (
    Bar,
    Order,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    RejectionReason,
    TradingState,
    TradingStateChanged,
)
from finbot_bt.errors import ConfigError, ContractError, MarketDataError
from finbot_bt.execution import FillConfig
from tests.factories import (
    T0,
    bar,
    d,
    daily,
    daily_bars,
    kinds,
    of,
    order,
    primed,
    record,
    run_bars,
    simulator,
)

S = OrderStatus
FLAT = ("100", "101", "99", "100")


# ---------------------------------------------------------------- funds

def test_funds_when_two_buys_fit_alone_but_not_together_then_second_rejected() -> None:
    sim = primed()
    first = sim.submit_order(order("buy", 60, order_id="A"), T0)
    second = sim.submit_order(order("buy", 50, order_id="B"), T0)
    assert first.status is S.ACCEPTED
    assert second.status is S.REJECTED and second.rejection_reason is RejectionReason.INSUFFICIENT_FUNDS
    assert "short by 1000" in (second.rejection_message or "")


def test_funds_when_new_market_data_then_batch_running_cash_resets() -> None:
    sim = primed()
    sim.submit_order(order("buy", 60, "limit", limit="50", order_id="A"), T0)
    sim.submit_order(order("buy", 150, "limit", limit="50", order_id="B"), T0)
    assert sim.get_order("B").status is S.REJECTED  # type: ignore[union-attr]
    run_bars(sim, daily_bars(FLAT, start=1))
    again = sim.submit_order(order("buy", 100, "limit", limit="50", order_id="C"), daily(1))
    assert again.status is S.ACCEPTED


def test_funds_when_sell_then_buy_in_one_batch_then_freed_cash_counts() -> None:
    sim = primed()
    sim.submit_order(order("buy", 50), T0)
    run_bars(sim, daily_bars(FLAT, start=1))
    assert sim.cash == d("5000")
    sim.submit_order(order("sell", 50, order_id="S"), daily(1))
    bought = sim.submit_order(order("buy", 100, order_id="B"), daily(1))
    assert bought.status is S.ACCEPTED
    run_bars(sim, daily_bars(FLAT, start=2))
    assert sim.get_position("SPY").quantity == d(100) and sim.cash == d("0")


def test_funds_when_gap_at_fill_then_closing_part_fills_and_opening_rejected() -> None:
    sim = primed()
    sim.submit_order(order("sell", 10), T0)
    run_bars(sim, daily_bars(FLAT, start=1))
    assert sim.cash == d("11000")
    events = record(sim)
    accepted = sim.submit_order(order("buy", 110, order_id="R"), daily(1))
    assert accepted.status is S.ACCEPTED
    run_bars(sim, daily_bars(("101", "102", "100", "101"), start=2))
    assert kinds(events, "R") == ["OrderSubmitted", "OrderAccepted", "OrderFilled", "OrderRejected"]
    fill = of(events, OrderFilled, "R")[0]
    assert (fill.closed_quantity, fill.opened_quantity, fill.execution.quantity) == (d(10), d(0), d(10))
    rejected = of(events, OrderRejected, "R")[0]
    assert rejected.reason is RejectionReason.INSUFFICIENT_FUNDS
    assert rejected.order.status is S.REJECTED and rejected.order.filled_quantity == d(10)
    assert sim.get_position("SPY").is_flat and sim.cash == d("9990")


def test_funds_when_unchecked_at_submit_then_rejected_at_fill_without_fill() -> None:
    sim = primed("500", fill=FillConfig(check_funds_on_submit=False))
    events = record(sim)
    assert sim.submit_order(order("buy", 10, order_id="U"), T0).status is S.ACCEPTED
    run_bars(sim, daily_bars(FLAT, start=1))
    assert kinds(events, "U") == ["OrderSubmitted", "OrderAccepted", "OrderRejected"]
    assert sim.cash == d("500")


def test_funds_when_not_refusing_unfunded_fills_then_cash_goes_negative() -> None:
    sim = primed("500", fill=FillConfig(check_funds_on_submit=False, refuse_unfunded_fills=False))
    sim.submit_order(order("buy", 10, order_id="U"), T0)
    run_bars(sim, daily_bars(FLAT, start=1))
    assert sim.get_order("U").status is S.FILLED and sim.cash == d("-500")  # type: ignore[union-attr]


def test_funds_when_no_price_known_then_fill_time_check_decides() -> None:
    sim = simulator("500")
    assert sim.submit_order(order("buy", 10, order_id="N"), T0).status is S.ACCEPTED
    events = run_bars(sim, daily_bars(FLAT, start=1))
    assert kinds(events) == ["OrderRejected"]


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: order(quantity="0"), RejectionReason.INVALID_QUANTITY),
        (lambda: order(quantity="-5"), RejectionReason.INVALID_QUANTITY),
        (lambda: order(quantity="NaN"), RejectionReason.INVALID_QUANTITY),
        (lambda: order(quantity="Infinity"), RejectionReason.INVALID_QUANTITY),
        (lambda: order(order_type="limit"), RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="limit", limit="-1"), RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="limit", limit="0"), RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="limit", limit="NaN"), RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="stop"), RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="stop_limit", stop="101"), RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="trailing_stop"), RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="trailing_stop", trail_amount="1", trail_percent="0.1"),
         RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="trailing_stop", trail_percent="1"), RejectionReason.INVALID_PRICE),
        (lambda: order(order_type="trailing_stop_limit", limit="99", trail_amount="1"),
         RejectionReason.INVALID_PRICE),
        (lambda: order(symbol=" "), RejectionReason.INVALID_SYMBOL),
        (lambda: order(order_id="self", parent="self"), RejectionReason.INVALID_ORDER),
    ],
    ids=[
        "qty-zero", "qty-negative", "qty-nan", "qty-inf", "limit-without-price", "negative-limit",
        "zero-limit", "nan-limit", "stop-without-price", "stop-limit-without-limit", "trailing-without-trail",
        "trailing-both-trails", "trail-percent-100", "trailing-limit-without-stop", "blank-symbol", "own-parent",
    ],
)
def test_submit_when_bad_order_then_typed_rejection_and_simulator_keeps_working(build, reason) -> None:  # type: ignore[no-untyped-def]
    sim = primed()
    events = record(sim)
    bad: Order = build()
    returned = sim.submit_order(bad, T0)
    assert returned.status is S.REJECTED and returned.rejection_reason is reason
    rejected = of(events, OrderRejected)
    assert len(rejected) == 1 and rejected[0].reason is reason and rejected[0].message
    assert sim.open_orders() == []
    sim.submit_order(order("buy", 1, order_id="good"), T0)
    run_bars(sim, daily_bars(FLAT, start=1))
    assert sim.get_order("good").status is S.FILLED  # type: ignore[union-attr]


def test_submit_when_duplicate_id_then_rejected_and_original_untouched() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, "limit", limit="90", order_id="X"), T0)
    events = record(sim)
    duplicate = sim.submit_order(order("sell", 5, order_id="X"), T0)
    assert duplicate.status is S.REJECTED
    assert of(events, OrderRejected)[0].reason is RejectionReason.DUPLICATE_ORDER
    original = sim.get_order("X")
    assert original is not None and original.status is S.ACCEPTED and original.quantity == d(1)
    assert len(sim.orders()) == 1


def test_submit_when_not_new_or_not_an_order_then_contract_error() -> None:
    sim = primed()
    with pytest.raises(ContractError):
        sim.submit_order(dataclasses.replace(order(), status=S.ACCEPTED), T0)
    with pytest.raises(ContractError):
        sim.submit_order("buy 10 SPY", T0)  # type: ignore[arg-type]


def test_time_when_going_backwards_then_market_data_error_and_state_kept() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, order_id="K"), T0)
    earlier = T0 - timedelta(seconds=1)
    with pytest.raises(MarketDataError, match="backwards"):
        sim.process_market_data(earlier, {"SPY": bar(*FLAT, earlier)})
    with pytest.raises(MarketDataError):
        sim.submit_order(order("buy", 1), earlier)
    with pytest.raises(MarketDataError):
        sim.cancel_order("K", earlier)
    assert sim.clock == T0
    run_bars(sim, daily_bars(FLAT, start=1))
    assert sim.get_order("K").status is S.FILLED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "prices",
    [
        {"SPY": 100.0},
        {"SPY": "100"},
        {"SPY": Decimal("NaN")},
        {"SPY": Decimal("-1")},
        {"SPY": bar(*FLAT, daily(2))},
    ],
    ids=["float", "str", "nan", "negative", "bar-after-update-time"],
)
def test_market_data_when_malformed_then_market_data_error(prices: dict[str, object]) -> None:
    sim = primed()
    with pytest.raises(MarketDataError):
        sim.process_market_data(daily(1), prices)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sim.process_market_data(daily(1), prices)  # type: ignore[arg-type]
    assert sim.process_market_data(daily(1), {"SPY": Decimal("101")}) == []
    assert sim.last_price("SPY") == d("101")


def test_market_data_when_timestamp_not_datetime_then_market_data_error() -> None:
    sim = primed()
    with pytest.raises(MarketDataError):
        sim.process_market_data("2024-01-03", {})  # type: ignore[arg-type]
    with pytest.raises(MarketDataError):
        Bar(open=d(1), high=d(1), low=d(1), close=d(1), timestamp=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_cash": Decimal("-1")},
        {"initial_cash": 10000},
        {"seed": "1"},
        {"seed": True},
        {"latency": "warp"},
        {"slippage": "none"},
        {"commission": 0},
        {"fill": {}},
        {"simulator_id": "a/b"},
    ],
    ids=["negative-cash", "int-cash", "str-seed", "bool-seed", "unknown-latency", "bad-slippage",
         "bad-commission", "bad-fill", "path-id"],
)
def test_simulator_when_bad_config_then_config_error(kwargs: dict[str, object]) -> None:
    from finbot_bt.execution import ExecutionSimulator

    cash = kwargs.pop("initial_cash", Decimal("10000"))
    with pytest.raises(ConfigError):
        ExecutionSimulator(cash, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- queries

def test_get_position_when_symbol_never_traded_then_flat() -> None:
    sim = primed()
    position = sim.get_position("NEVER")
    assert position.symbol == "NEVER" and position.is_flat
    assert (position.avg_price, position.realized_pnl, position.commission) == (0, 0, 0)
    assert sim.positions() == {} and sim.get_order("nope") is None


def test_next_order_id_when_called_then_deterministic_sequence() -> None:
    sim = simulator(simulator_id="acct")
    assert [sim.next_order_id() for _ in range(3)] == ["acct-1", "acct-2", "acct-3"]


# ---------------------------------------------------------------- trading state

def test_disable_trading_when_orders_open_then_cancelled_and_new_orders_rejected() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, "limit", limit="90", order_id="W"), T0)
    events = record(sim)
    sim.disable_trading("manual stop", T0)
    assert kinds(events) == ["TradingStateChanged", "OrderCancelled"]
    change = of(events, TradingStateChanged)[0]
    assert (change.previous, change.state, change.reason) == (TradingState.ACTIVE, TradingState.HALTED, "manual stop")
    assert not sim.trading_enabled
    refused = sim.submit_order(order("buy", 1), T0)
    assert refused.rejection_reason is RejectionReason.RISK_TRADING_DISABLED
    sim.enable_trading(T0)
    assert sim.trading_enabled and sim.trading_state is TradingState.ACTIVE
    assert sim.submit_order(order("buy", 1), T0).status is S.ACCEPTED
    assert kinds(events).count("TradingStateChanged") == 2


def test_disable_trading_when_flatten_then_positions_closed_at_next_open() -> None:
    sim = primed()
    sim.submit_order(order("buy", 10), T0)
    run_bars(sim, daily_bars(FLAT, start=1))
    sim.disable_trading(timestamp=daily(1), flatten=True)
    run_bars(sim, daily_bars(("102", "103", "101", "102"), start=2))
    assert sim.get_position("SPY").is_flat and sim.cash == d("10020")
    assert sim.trading_state is TradingState.HALTED


def test_disable_trading_when_already_halted_then_no_second_event() -> None:
    sim = primed()
    events = record(sim)
    sim.disable_trading(timestamp=T0)
    sim.disable_trading(timestamp=T0)
    assert kinds(events) == ["TradingStateChanged"]


# ---------------------------------------------------------------- determinism

def _scenario(seed: int) -> list[str]:
    sim = primed(latency="slow", seed=seed)
    events = record(sim)
    sim.submit_order(order("buy", 5, order_id="a"), T0)
    sim.submit_order(order("buy", 5, "limit", limit="99.5", order_id="b"), T0)
    sim.submit_order(order("sell", 3, "stop", stop="98", order_id="c"), T0)
    sim.cancel_order("c", T0 + timedelta(milliseconds=20))
    run_bars(sim, daily_bars(FLAT, ("99", "100", "97", "98"), FLAT, start=1))
    sim.advance_time(daily(4))
    return [repr(e) for e in events]


def test_simulator_when_same_seed_then_identical_event_stream() -> None:
    first, second = _scenario(11), _scenario(11)
    assert first == second and len(first) > 8


def test_simulator_when_different_seed_then_fill_latencies_differ() -> None:
    assert _scenario(11) != _scenario(12)


def test_latency_when_fill_range_then_draws_from_simulator_rng_only() -> None:
    import random

    random.seed(1)
    first = _scenario(3)
    random.seed(2)
    assert _scenario(3) == first


def test_validation_when_trailing_stop_starts_below_zero_then_accepted_and_ratchets_up() -> None:
    # A trail wider than the price (2.5 under a close of 1.2) starts the stop below zero;
    # it must be accepted (Backtrader accepts it) and ratchet up as the price rises.
    sim = primed(ohlc=(1.2, 1.3, 1.1, 1.2))
    submitted = sim.submit_order(order("sell", 1, "trailing_stop", stop=-1.3, trail_amount=2.5), T0)
    assert submitted.status.value == "accepted"
    sim.process_market_data(daily(1), {"SPY": bar(1.2, 4.1, 1.2, 4.0, daily(1))})
    assert sim.get_order(submitted.order_id).stop_price == Decimal("1.5")


def test_validation_when_trailing_stop_price_is_nan_then_rejected() -> None:
    sim = primed()
    rejected = sim.submit_order(order("sell", 1, "trailing_stop", stop=Decimal("NaN"), trail_amount=1), T0)
    assert rejected.rejection_reason is RejectionReason.INVALID_PRICE


# ---------------------------------------------------------------- which bars an adapter may skip or thin

def test_needs_market_data_and_full_bar_when_orders_and_positions_change_then_follow_them() -> None:
    from finbot_bt.contracts.risk import RiskConfig

    sim = primed()
    assert not sim.needs_market_data("SPY") and not sim.needs_full_bar("SPY")
    sim.submit_order(order("buy", 2, "limit", limit="90", order_id="L"), T0)
    assert sim.needs_market_data("SPY") and sim.needs_full_bar("SPY")  # the limit matches on high/low
    sim.cancel_order("L", T0)
    assert not sim.needs_full_bar("SPY")
    sim.submit_order(order("buy", 2, order_id="M"), T0)
    run_bars(sim, daily_bars(FLAT, start=1))
    assert sim.get_position("SPY").quantity == 2
    assert sim.needs_market_data("SPY")  # the position is marked to market
    assert not sim.needs_full_bar("SPY")  # by the close alone
    assert not sim.needs_market_data("QQQ")
    assert simulator(risk=RiskConfig()).needs_market_data("QQQ")  # risk watches equity


def _closes_only_run(thin: bool) -> tuple[list[str], Decimal, Decimal]:
    """Two symbols, orders on and off, positions held across bars; with ``thin`` the
    bars of symbols without open orders are passed as their close alone."""
    sim = primed(cash=100_000)
    events = record(sim)
    prices = [("100", "104", "97", "101"), ("101", "103", "99", "102"), ("102", "102", "95", "96"),
              ("96", "99", "94", "98"), ("98", "105", "97", "104"), ("104", "106", "100", "101")]
    for i, (o, h, low, c) in enumerate(prices, start=1):
        ts = daily(i)
        if i == 1:
            sim.submit_order(order("buy", 10, order_id="A"), daily(0))
            sim.submit_order(order("buy", 5, symbol="QQQ", order_id="Q"), daily(0))
        if i == 3:
            sim.submit_order(order("sell", 4, "limit", limit="99", order_id="L"), daily(2))
            sim.submit_order(order("sell", 5, "stop", stop="90", symbol="QQQ", order_id="S"), daily(2))
        data = {}
        for symbol, shift in (("SPY", "0"), ("QQQ", "1")):
            full = bar(d(o) + d(shift), d(h) + d(shift), d(low) + d(shift), d(c) + d(shift), ts)
            data[symbol] = full
            if thin and not sim.needs_full_bar(symbol):
                data[symbol] = bar(full.close, full.close, full.close, full.close, ts)
        sim.process_market_data(ts, data)
    return [f"{type(e).__name__}:{getattr(e, 'order_id', '')}" for e in events], sim.cash, sim.equity()


def test_bars_thinned_to_their_close_when_no_open_orders_then_same_events_cash_and_equity() -> None:
    full, thin = _closes_only_run(False), _closes_only_run(True)
    assert any(name.startswith("OrderFilled:L") for name in full[0])  # the scenario trades
    assert thin == full
