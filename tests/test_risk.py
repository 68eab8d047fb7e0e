"""Risk layer: configs, each rule (pass, fail, boundary), drawdown latch, kill switch, state."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from finbot_bt.contracts import (
    OrderCancelled,
    OrderRejected,
    OrderStatus,
    RejectionReason,
    RiskLimitBreached,
    TradingState,
    TradingStateChanged,
)
from finbot_bt.contracts.positions import Instrument
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
from finbot_bt.errors import CheckpointError, ConfigError
from finbot_bt.execution.risk import RiskChecker, RiskEngine
from finbot_bt.execution.risk_book import RiskBook
from tests.factories import T0, d, daily, flat_bar, of, order, primed, record, simulator

R = RejectionReason
HOUR = timedelta(hours=1)


def _sim(cash: int = 10000, price: str = "100", **rules: Any) -> Any:
    """A simulator with ``rules`` as its RiskConfig, primed with SPY at ``price``."""
    return primed(cash, (price, price, price, price), risk=RiskConfig(**rules))


def _refusal(sim: Any, side: str, quantity: Any, **kwargs: Any) -> tuple[Any, Any]:
    result = sim.submit_order(order(side, quantity, **kwargs), sim.clock or T0)
    return result.rejection_reason, result.rejection_message


def _bar(sim: Any, prices: dict[str, str], when: Any) -> list[Any]:
    return sim.process_market_data(when, {s: flat_bar(p, when) for s, p in prices.items()})


FULL = RiskConfig(
    position_limit=PositionLimitRule(
        max_shares=d(100), max_value=d("5000.5"),
        per_symbol=(SymbolPositionLimit(symbol="AAPL", max_shares=d(10)),),
    ),
    exposure_limit=ExposureLimitRule(max_gross_exposure_pct=d(150), max_net_exposure_pct=d("80.5")),
    drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5), max_total_drawdown_pct=d(20)),
    order_size=OrderSizeRule(max_order_quantity=d(500), max_order_notional=d(25000)),
    order_rate=OrderRateLimit(max_orders=3, interval=timedelta(milliseconds=1500), burst=5),
)


# ------------------------------------------------------------------ config
def test_risk_config_when_round_tripped_through_json_then_equal() -> None:
    data = json.loads(json.dumps(FULL.to_dict()))
    assert RiskConfig.from_dict(data) == FULL
    assert RiskConfig.from_dict(RiskConfig().to_dict()) == RiskConfig()


def test_risk_config_from_dict_when_toml_floats_and_preset_then_exact_decimals() -> None:
    config = RiskConfig.from_dict({
        "drawdown_limit": {"max_daily_drawdown_pct": 2.5},
        "position_limit": {"per_symbol": {"SPY": {"max_shares": 100}}},
        "order_rate": "IBKR_TWS",
    })
    assert config.drawdown_limit is not None and config.drawdown_limit.max_daily_drawdown_pct == d("2.5")
    assert config.position_limit is not None and config.position_limit.limits_for("SPY") == (d(100), None)
    assert config.order_rate is RATE_LIMIT_PRESETS["ibkr_tws"]


@pytest.mark.parametrize(("data", "names"), [
    ({"position_limt": {}}, "'position_limt'"),
    ({"position_limit": {"max_share": "1"}}, "'max_share'"),
    ({"position_limit": {"per_symbol": {"SPY": {"max_lots": 1}}}}, "'max_lots'"),
    ({"order_rate": {"max_orders": 5, "interval": "1", "bursts": 2}}, "'bursts'"),
], ids=["top", "rule", "per-symbol", "rate"])
def test_risk_config_from_dict_when_unknown_key_then_config_error_names_key(data: Any, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        RiskConfig.from_dict(data)


@pytest.mark.parametrize(("build", "field"), [
    (lambda: PositionLimitRule(max_shares=d(-1)), "PositionLimitRule.max_shares"),
    (lambda: PositionLimitRule(max_value=100.0), "PositionLimitRule.max_value"),
    (lambda: PositionLimitRule(), "PositionLimitRule needs"),
    (lambda: PositionLimitRule(per_symbol=(SymbolPositionLimit(symbol="A"), SymbolPositionLimit(symbol="A"))),
     "'A' twice"),
    (lambda: ExposureLimitRule(max_gross_exposure_pct=d("NaN")), "max_gross_exposure_pct"),
    (lambda: ExposureLimitRule(), "ExposureLimitRule needs"),
    (lambda: DrawdownLimitRule(max_daily_drawdown_pct=d(0)), "max_daily_drawdown_pct"),
    (lambda: DrawdownLimitRule(max_total_drawdown_pct=d(101)), "max_total_drawdown_pct"),
    (lambda: OrderSizeRule(max_order_quantity=d(0)), "max_order_quantity"),
    (lambda: OrderRateLimit(max_orders=0, interval=timedelta(seconds=1)), "max_orders"),
    (lambda: OrderRateLimit(max_orders=1, interval=timedelta(0)), "interval"),
    (lambda: OrderRateLimit(max_orders=1, interval=timedelta(seconds=1), burst=True), "burst"),
    (lambda: RiskConfig(position_limit=ExposureLimitRule(max_net_exposure_pct=d(1))), "RiskConfig.position_limit"),
    (lambda: RiskConfig.from_dict({"order_size": {"max_order_quantity": "ten"}}), "max_order_quantity"),
    (lambda: rate_limit_preset("nyse"), "unknown order rate preset"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_risk_rule_when_invalid_then_config_error_names_field(build: Any, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        build()


def test_position_limit_rule_when_override_field_is_none_then_default_applies() -> None:
    rule = PositionLimitRule(max_shares=d(100), max_value=d(1000),
                             per_symbol=(SymbolPositionLimit(symbol="AAPL", max_value=d(50)),))
    assert rule.limits_for("AAPL") == (d(100), d(50))
    assert rule.limits_for("SPY") == (d(100), d(1000))


# ------------------------------------------------------------------ order size
@pytest.mark.parametrize(("quantity", "reason"), [(100, None), (101, R.RISK_ORDER_SIZE)], ids=["at", "over"])
def test_max_order_quantity_when_checked_then_inclusive(quantity: int, reason: Any) -> None:
    sim = _sim(10**6, order_size=OrderSizeRule(max_order_quantity=d(100)))
    got, message = _refusal(sim, "sell", quantity)
    assert got is reason
    if reason is not None:
        assert "max_order_quantity 100" in message and "101" in message


@pytest.mark.parametrize(("limit", "reason"), [("50", None), ("50.01", R.RISK_ORDER_SIZE)], ids=["at", "over"])
def test_max_order_notional_when_limit_price_then_valued_at_limit(limit: str, reason: Any) -> None:
    sim = _sim(10**6, order_size=OrderSizeRule(max_order_notional=d(5000)))
    got, message = _refusal(sim, "buy", 100, order_type="limit", limit=limit)
    assert got is reason
    if reason is not None:
        assert "notional 5001.00" in message and "max_order_notional 5000" in message


def test_max_order_notional_when_multiplier_then_counted() -> None:
    sim = simulator(10**6, risk=RiskConfig(order_size=OrderSizeRule(max_order_notional=d(5000))),
                    instruments=[Instrument(symbol="ES", multiplier=d(50), margin=d(1000))])
    _bar(sim, {"ES": "100"}, T0)
    assert _refusal(sim, "buy", 1, symbol="ES") == (None, None)
    assert _refusal(sim, "buy", 2, symbol="ES")[0] is R.RISK_ORDER_SIZE


def test_max_order_notional_when_market_order_and_no_price_then_risk_no_price() -> None:
    sim = simulator(risk=RiskConfig(order_size=OrderSizeRule(max_order_notional=d(5000))))
    result = sim.submit_order(order("buy", 1, symbol="NEW"), T0)
    assert result.rejection_reason is R.RISK_NO_PRICE
    assert "'NEW'" in (result.rejection_message or "") and "max_order_notional" in (result.rejection_message or "")


# ------------------------------------------------------------------ throttle
def test_order_rate_when_burst_used_then_refused_until_refilled_in_simulated_time() -> None:
    rate = OrderRateLimit(max_orders=2, interval=timedelta(seconds=1), burst=3, name="test")
    sim = _sim(10**6, order_rate=rate)
    for _ in range(3):
        assert _refusal(sim, "sell", 1) == (None, None)
    reason, message = _refusal(sim, "sell", 1)
    assert reason is R.RISK_ORDER_RATE
    assert "(test)" in message and "2 orders per 0:00:01" in message
    assert (T0 + timedelta(milliseconds=500)).isoformat() in message
    sim.advance_time(T0 + timedelta(milliseconds=499))
    assert _refusal(sim, "sell", 1)[0] is R.RISK_ORDER_RATE
    sim.advance_time(T0 + timedelta(milliseconds=500))
    assert _refusal(sim, "sell", 1) == (None, None)
    assert _refusal(sim, "sell", 1)[0] is R.RISK_ORDER_RATE


def test_order_rate_when_another_rule_refuses_then_no_token_taken() -> None:
    rate = OrderRateLimit(max_orders=1, interval=timedelta(seconds=1))
    sim = _sim(10**6, order_rate=rate, position_limit=PositionLimitRule(max_shares=d(10)))
    assert _refusal(sim, "buy", 11)[0] is R.RISK_POSITION_LIMIT
    assert _refusal(sim, "buy", 10) == (None, None)
    assert _refusal(sim, "buy", 1)[0] is R.RISK_ORDER_RATE


def test_rate_presets_when_listed_then_named_and_valid() -> None:
    assert set(RATE_LIMIT_PRESETS) >= {"alpaca", "ibkr_tws", "binance_spot", "coinbase_fix", "nautilus_default"}
    assert rate_limit_preset("alpaca").max_orders == 200
    assert rate_limit_preset("alpaca").interval == timedelta(minutes=1)


# ------------------------------------------------------------------ position
def test_position_limit_when_open_orders_then_counted_and_inclusive() -> None:
    sim = _sim(10**6, position_limit=PositionLimitRule(max_shares=d(100)))
    assert _refusal(sim, "buy", 60, order_type="limit", limit="90") == (None, None)
    assert _refusal(sim, "buy", 40, order_type="limit", limit="90") == (None, None)
    reason, message = _refusal(sim, "buy", 1)
    assert reason is R.RISK_POSITION_LIMIT
    assert "position 101 units" in message and "open buys 100" in message and "max_shares 100" in message


def test_position_limit_when_short_side_then_counted_with_open_sells() -> None:
    sim = _sim(10**6, position_limit=PositionLimitRule(max_shares=d(100)))
    assert _refusal(sim, "sell", 100, order_type="limit", limit="110") == (None, None)
    assert _refusal(sim, "sell", 1)[0] is R.RISK_POSITION_LIMIT
    assert _refusal(sim, "buy", 100) == (None, None)  # the other side has its own worst case


def test_position_limit_when_bracket_exits_then_counted_once_as_reduce_only() -> None:
    sim = _sim(10**7, position_limit=PositionLimitRule(max_shares=d(20000)))
    entry = sim.submit_order(order("buy", 17543, "limit", limit="90", order_id="entry"), sim.clock or T0)
    stop = sim.submit_order(order("sell", 17543, "stop", stop="80", parent="entry"), sim.clock or T0)
    take = sim.submit_order(order("sell", 17543, "limit", limit="120", parent="entry"), sim.clock or T0)
    assert [o.rejection_reason for o in (entry, stop, take)] == [None, None, None]
    # The exits are not new short exposure: a separate 20000 short still fits beside them.
    assert _refusal(sim, "sell", 20000, order_type="limit", limit="130") == (None, None)
    assert _refusal(sim, "sell", 1, order_type="limit", limit="130")[0] is R.RISK_POSITION_LIMIT


def test_position_limit_when_bracket_entry_filled_then_exits_count_once() -> None:
    sim = _sim(10**7, position_limit=PositionLimitRule(max_shares=d(20000)))
    sim.submit_order(order("buy", 17543, order_id="entry-f"), sim.clock or T0)
    _bar(sim, {"SPY": "100"}, daily(1))
    assert sim.get_position("SPY").quantity == d(17543)
    for kind, price in (("stop", {"stop": "80"}), ("limit", {"limit": "120"})):
        placed = sim.submit_order(order("sell", 17543, kind, parent="entry-f", **price), daily(1))
        assert placed.rejection_reason is None
    # Both exits close the same 17543 once: the short side is flat, so a 20000 short fits and 20001 does not.
    assert _refusal(sim, "sell", 20000, order_type="limit", limit="130") == (None, None)
    assert _refusal(sim, "sell", 1, order_type="limit", limit="130")[0] is R.RISK_POSITION_LIMIT
    assert sim.risk is not None
    kept, fresh = sim.risk._book, RiskBook()
    kept.settle()
    fresh.rebuild(sim)  # the event-maintained book equals one rebuilt after a restore
    assert (kept.buys, kept.sells, kept.gross) == (fresh.buys, fresh.sells, fresh.gross)


def test_position_limit_when_oco_siblings_then_largest_counts() -> None:
    sim = _sim(10**7, position_limit=PositionLimitRule(max_shares=d(100)))
    assert _refusal(sim, "buy", 80, order_type="limit", limit="90", oco="g") == (None, None)
    assert _refusal(sim, "buy", 80, order_type="limit", limit="85", oco="g") == (None, None)
    assert _refusal(sim, "buy", 100, order_type="limit", limit="80", oco="g") == (None, None)
    reason, message = _refusal(sim, "buy", 1, order_type="limit", limit="80")
    assert reason is R.RISK_POSITION_LIMIT and "open buys 100" in message  # 100, not 260


def test_exposure_limit_when_bracket_exits_then_not_counted_as_new_exposure() -> None:
    sim = _sim(10**6, exposure_limit=ExposureLimitRule(max_gross_exposure_pct=d(100), max_net_exposure_pct=d(100)))
    sim.submit_order(order("buy", 9000, "limit", limit="90", order_id="entry-x"), sim.clock or T0)
    for kind, price in (("stop", {"stop": "80"}), ("limit", {"limit": "120"})):
        placed = sim.submit_order(order("sell", 9000, kind, parent="entry-x", **price), sim.clock or T0)
        assert placed.rejection_reason is None
    assert sim.risk is not None
    book = sim.risk._book
    book.settle()
    assert (book.buys, book.sells) == ({"SPY": d(9000)}, {})
    assert book.gross == d(900000)


def test_position_limit_when_order_reduces_over_limit_position_then_passes() -> None:
    sim = primed(10**6)
    sim.submit_order(order("buy", 150), T0)
    _bar(sim, {"SPY": "100"}, daily(1))
    engine = RiskChecker(RiskConfig(position_limit=PositionLimitRule(max_shares=d(100))))
    assert engine.check_order(order("sell", 50), sim, daily(1)) is None
    assert engine.check_order(order("sell", 250), sim, daily(1)) is None  # ends short 100: at the limit
    refusal = engine.check_order(order("sell", 251), sim, daily(1))
    assert refusal is not None and refusal[0] is R.RISK_POSITION_LIMIT
    refusal = engine.check_order(order("buy", 1), sim, daily(1))
    assert refusal is not None and "position 151 units" in refusal[1]


@pytest.mark.parametrize(("symbol", "quantity", "reason"), [
    ("SPY", 50, None), ("SPY", 51, R.RISK_POSITION_LIMIT), ("AAPL", 10, None), ("AAPL", 11, R.RISK_POSITION_LIMIT),
], ids=["default-at", "default-over", "override-at", "override-over"])
def test_position_max_value_when_per_symbol_override_then_used(symbol: str, quantity: int, reason: Any) -> None:
    rule = PositionLimitRule(max_value=d(5000), per_symbol=(SymbolPositionLimit(symbol="AAPL", max_value=d(2000)),))
    sim = simulator(10**6, risk=RiskConfig(position_limit=rule))
    _bar(sim, {"SPY": "100", "AAPL": "200"}, T0)
    got, message = _refusal(sim, "buy", quantity, symbol=symbol)
    assert got is reason
    if reason is not None:
        assert "max_value" in message and "at last close" in message


def test_position_max_value_when_no_price_then_risk_no_price() -> None:
    sim = simulator(risk=RiskConfig(position_limit=PositionLimitRule(max_value=d(5000))))
    reason, message = _refusal(sim, "buy", 1, order_type="limit", limit="10", symbol="NEW")
    assert reason is R.RISK_NO_PRICE and "position limit (max_value)" in message and "'NEW'" in message


# ------------------------------------------------------------------ exposure
@pytest.mark.parametrize(("quantity", "reason"), [(100, None), (101, R.RISK_EXPOSURE_LIMIT)], ids=["at", "over"])
def test_gross_exposure_when_checked_then_inclusive_against_equity(quantity: int, reason: Any) -> None:
    sim = _sim(10000, exposure_limit=ExposureLimitRule(max_gross_exposure_pct=d(100)))
    got, message = _refusal(sim, "buy", quantity, order_type="limit", limit="100")
    assert got is reason
    if reason is not None:
        assert "gross exposure to 101.00% of equity 10000" in message and "max_gross_exposure_pct 100%" in message


def test_gross_exposure_when_open_orders_on_several_symbols_then_counted() -> None:
    sim = simulator(10000, risk=RiskConfig(exposure_limit=ExposureLimitRule(max_gross_exposure_pct=d(100))))
    _bar(sim, {"SPY": "100", "QQQ": "50"}, T0)
    assert _refusal(sim, "buy", 60, order_type="limit", limit="90") == (None, None)
    assert _refusal(sim, "sell", 80, symbol="QQQ", order_type="limit", limit="60") == (None, None)
    assert _refusal(sim, "sell", 1, symbol="QQQ")[0] is R.RISK_EXPOSURE_LIMIT
    assert _refusal(sim, "sell", 60) == (None, None)  # a sell against open buys adds no worst case


def test_net_exposure_when_hedged_then_gross_may_exceed_net() -> None:
    limits = ExposureLimitRule(max_net_exposure_pct=d(50))
    sim = simulator(10000, risk=RiskConfig(exposure_limit=limits), fill=_no_funds_check())
    _bar(sim, {"SPY": "100", "QQQ": "100"}, T0)
    assert _refusal(sim, "buy", 50) == (None, None)
    _bar(sim, {"SPY": "100", "QQQ": "100"}, daily(1))
    assert sim.get_position("SPY").quantity == 50
    assert _refusal(sim, "sell", 100, symbol="QQQ") == (None, None)  # net -50 %: at the limit
    reason, message = _refusal(sim, "sell", 1, symbol="QQQ")
    assert reason is R.RISK_EXPOSURE_LIMIT and "net exposure to 51.00%" in message


def test_exposure_when_a_symbol_has_no_price_then_risk_no_price() -> None:
    sim = simulator(10000, risk=RiskConfig(exposure_limit=ExposureLimitRule(max_gross_exposure_pct=d(100))))
    reason, message = _refusal(sim, "buy", 1, order_type="limit", limit="10", symbol="NEW")
    assert reason is R.RISK_NO_PRICE and "'NEW'" in message


def test_exposure_when_equity_not_positive_then_adds_refused() -> None:
    sim = _sim(10000, exposure_limit=ExposureLimitRule(max_gross_exposure_pct=d(100)))
    sim.add_cash(d(-10000))
    reason, message = _refusal(sim, "buy", 1)
    assert reason is R.RISK_EXPOSURE_LIMIT and "equity is 0" in message


# ------------------------------------------------------------------ drawdown
def _bought(cash: int = 10000, **rules: Any) -> Any:
    sim = _sim(cash, **rules)
    sim.submit_order(order("buy", 100), T0)
    _bar(sim, {"SPY": "100"}, daily(1))
    assert sim.get_position("SPY").quantity == 100
    return sim


def test_drawdown_when_buying_stock_then_no_spurious_breach() -> None:
    sim = _bought(drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)))
    assert sim.trading_state is TradingState.ACTIVE
    assert _refusal(sim, "sell", 50) == (None, None)


@pytest.mark.parametrize(("close", "state"), [("95", TradingState.ACTIVE), ("94.99", TradingState.REDUCING)],
                         ids=["at", "over"])
def test_daily_drawdown_when_checked_then_inclusive(close: str, state: TradingState) -> None:
    sim = _bought(drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)))
    # Day 2 starts from day 1's close (10000); equity is cash 0 + 100 x close.
    _bar(sim, {"SPY": close}, daily(2))
    assert sim.trading_state is state


def test_daily_drawdown_when_breached_then_latched_with_events_and_reducing_only() -> None:
    sim = _bought(drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)))
    events = _bar(sim, {"SPY": "90"}, daily(2))
    (breach,) = of(events, RiskLimitBreached)
    assert breach.rule == "drawdown_limit.max_daily_drawdown_pct"
    assert breach.reason is R.RISK_DRAWDOWN_LIMIT
    assert "daily drawdown 10.00%" in breach.message and "equity 9000" in breach.message
    assert "max_daily_drawdown_pct 5%" in breach.message
    (change,) = of(events, TradingStateChanged)
    assert change.state is TradingState.REDUCING
    assert _refusal(sim, "buy", 1)[0] is R.RISK_DRAWDOWN_LIMIT
    assert _refusal(sim, "sell", 10) == (None, None)
    more = _bar(sim, {"SPY": "80"}, daily(2) + HOUR)
    assert of(more, RiskLimitBreached) == []  # latched: reported once


def test_daily_drawdown_when_new_day_then_baseline_resets_to_previous_close() -> None:
    sim = _bought(drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)))
    _bar(sim, {"SPY": "96"}, daily(2))
    _bar(sim, {"SPY": "92"}, daily(3))  # -4 % each day, -8 % in total
    assert sim.trading_state is TradingState.ACTIVE
    assert sim.risk.daily_baseline == d(9600) and sim.risk.baseline_day == daily(3).date()


def test_total_drawdown_when_measured_then_from_high_water_mark() -> None:
    sim = _bought(drawdown_limit=DrawdownLimitRule(max_total_drawdown_pct=d(10)))
    _bar(sim, {"SPY": "120"}, daily(2))
    _bar(sim, {"SPY": "108"}, daily(3))  # exactly 10 % below the 12000 peak
    assert sim.trading_state is TradingState.ACTIVE
    events = _bar(sim, {"SPY": "107"}, daily(4))
    assert "high-water mark 12000" in of(events, RiskLimitBreached)[0].message
    assert sim.risk.peak_equity == d(12000)


def test_drawdown_latch_when_enable_trading_then_active_and_rebased() -> None:
    sim = _bought(drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)))
    _bar(sim, {"SPY": "90"}, daily(2))
    events = record(sim)
    sim.enable_trading(daily(2) + HOUR)
    assert sim.trading_state is TradingState.ACTIVE and not sim.risk.latched
    assert of(events, TradingStateChanged)[0].state is TradingState.ACTIVE
    assert sim.risk.daily_baseline == d(9000)
    _bar(sim, {"SPY": "90"}, daily(2) + 2 * HOUR)
    assert sim.trading_state is TradingState.ACTIVE
    assert _refusal(sim, "buy", 1)[0] is R.INSUFFICIENT_FUNDS  # past the risk layer: cash is all invested


def test_drawdown_latch_when_bracket_exits_of_filled_entry_then_both_pass_as_reductions() -> None:
    sim = _sim(10000, drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)))
    sim.submit_order(order("buy", 100, order_id="entry-d"), T0)
    _bar(sim, {"SPY": "100"}, daily(1))
    _bar(sim, {"SPY": "90"}, daily(2))
    assert sim.trading_state is TradingState.REDUCING
    stop = sim.submit_order(order("sell", 100, "stop", stop="80", parent="entry-d"), daily(2))
    take = sim.submit_order(order("sell", 100, "limit", limit="120", parent="entry-d"), daily(2))
    # One-cancels-other exits close the same 100 once: both reduce, neither is refused.
    assert (stop.rejection_reason, take.rejection_reason) == (None, None)
    assert _refusal(sim, "sell", 1)[0] is R.RISK_DRAWDOWN_LIMIT  # a real new short still is


def test_drawdown_when_breached_between_bars_then_order_refused_and_event_at_next_bar() -> None:
    sim = _bought(20000, drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)))
    sim.add_cash(d(-2000))  # a withdrawal looks like a loss: 18000 vs 20000
    reason, message = _refusal(sim, "buy", 1)
    assert reason is R.RISK_DRAWDOWN_LIMIT and "daily drawdown 10.00%" in message
    assert _refusal(sim, "sell", 1) == (None, None)
    events = _bar(sim, {"SPY": "100"}, daily(1) + HOUR)
    assert len(of(events, RiskLimitBreached)) == 1
    assert sim.trading_state is TradingState.REDUCING


# ------------------------------------------------------------------ kill switch and order of checks
def test_kill_switch_when_tripped_then_halted_cancels_and_refuses_until_enabled() -> None:
    sim = _sim(10**6, position_limit=PositionLimitRule(max_shares=d(1000)))
    resting = sim.submit_order(order("buy", 10, order_type="limit", limit="90"), T0)
    events = record(sim)
    sim.disable_trading("test", T0)
    assert not sim.trading_enabled and sim.trading_state is TradingState.HALTED
    assert of(events, TradingStateChanged)[0].reason == "test"
    assert of(events, OrderCancelled, resting.order_id)
    assert _refusal(sim, "buy", 1)[0] is R.RISK_TRADING_DISABLED
    sim.enable_trading(T0)
    assert sim.trading_enabled and _refusal(sim, "buy", 1) == (None, None)


def test_kill_switch_when_flatten_then_positions_closed_past_the_halt() -> None:
    sim = _bought(10**6, position_limit=PositionLimitRule(max_shares=d(100)),
                  order_rate=OrderRateLimit(max_orders=1, interval=timedelta(days=30)))
    sim.disable_trading("flatten", daily(1), flatten=True)
    _bar(sim, {"SPY": "100"}, daily(2))
    assert sim.get_position("SPY").quantity == 0
    assert sim.trading_state is TradingState.HALTED


def test_check_order_when_several_rules_fail_then_first_in_documented_order_wins() -> None:
    rules: dict[str, Any] = {
        "order_size": OrderSizeRule(max_order_quantity=d(5)),
        "order_rate": OrderRateLimit(max_orders=1, interval=timedelta(hours=1)),
        "position_limit": PositionLimitRule(max_shares=d(1)),
        "exposure_limit": ExposureLimitRule(max_gross_exposure_pct=d(1)),
    }
    sim = _sim(10000, **rules)
    assert _refusal(sim, "buy", 6)[0] is R.RISK_ORDER_SIZE
    assert _refusal(sim, "buy", 2)[0] is R.RISK_POSITION_LIMIT
    assert _refusal(sim, "buy", 1) == (None, None)
    assert _refusal(sim, "buy", 2)[0] is R.RISK_ORDER_RATE
    sim.disable_trading("stop", T0)
    assert _refusal(sim, "buy", 6)[0] is R.RISK_TRADING_DISABLED


def test_risk_when_no_config_then_orders_pass() -> None:
    sim = primed(10**6)
    assert sim.risk is None
    result = sim.submit_order(order("buy", 1000), T0)
    assert result.status is not OrderStatus.REJECTED


def test_rejection_when_refused_then_event_is_value_with_reason_and_message() -> None:
    sim = _sim(10**6, order_size=OrderSizeRule(max_order_quantity=d(1)))
    events = record(sim)
    sim.submit_order(order("buy", 2), T0)
    (rejected,) = of(events, OrderRejected)
    assert rejected.reason is R.RISK_ORDER_SIZE and "max_order_quantity 1" in rejected.message


# ------------------------------------------------------------------ runtime state
def test_risk_state_when_round_tripped_through_json_then_behaviour_continues() -> None:
    sim = _bought(drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)),
                  order_rate=OrderRateLimit(max_orders=1, interval=timedelta(days=10)))
    _bar(sim, {"SPY": "40"}, daily(2))
    saved = json.loads(json.dumps(sim.risk.state()))
    engine = RiskEngine(sim.risk.config)
    engine.restore_state(saved)
    assert engine.state() == saved
    assert engine.latched and engine.peak_equity == d(10000) and engine.bucket_level == 0
    assert engine.check_order(order("buy", 1), sim, daily(2)) is not None


def test_risk_state_when_unknown_or_bad_key_then_checkpoint_error_names_it() -> None:
    engine = RiskEngine(RiskConfig(drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5))))
    state = engine.state()
    with pytest.raises(CheckpointError, match="surprise"):
        engine.restore_state({**state, "surprise": 1})
    with pytest.raises(CheckpointError, match="peak_equity"):
        engine.restore_state({**state, "peak_equity": "lots"})


def test_risk_state_when_interval_changed_then_token_count_kept() -> None:
    old = RiskEngine(RiskConfig(order_rate=OrderRateLimit(max_orders=4, interval=timedelta(seconds=1))))
    new = RiskEngine(RiskConfig(order_rate=OrderRateLimit(max_orders=4, interval=timedelta(seconds=2))))
    new.restore_state({**old.state(), "bucket_level": 3 * old.bucket_unit})
    assert new.bucket_level == 3 * new.bucket_unit


def test_update_state_when_used_standalone_then_tracks_peak_and_day() -> None:
    engine = RiskEngine(RiskConfig(drawdown_limit=DrawdownLimitRule(max_total_drawdown_pct=d(10))))
    assert engine.update_state(Decimal(100), T0) is None
    assert engine.update_state(Decimal(110), T0 + HOUR) is None
    breach = engine.update_state(Decimal(98), daily(1))
    assert breach is not None and breach.state is TradingState.REDUCING and engine.peak_equity == 110
    assert engine.daily_baseline == 110


def _no_funds_check() -> Any:
    from finbot_bt.execution import FillConfig

    return FillConfig(check_funds_on_submit=False, refuse_unfunded_fills=False)


def test_risk_state_when_restored_then_open_orders_recounted_from_simulator() -> None:
    sim = _sim(10**6, position_limit=PositionLimitRule(max_shares=d(100)))
    assert _refusal(sim, "buy", 90, order_type="limit", limit="90") == (None, None)
    sim.risk.restore_state(sim.risk.state())
    assert _refusal(sim, "buy", 11)[0] is R.RISK_POSITION_LIMIT
    assert _refusal(sim, "buy", 10) == (None, None)
