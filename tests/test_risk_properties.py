"""Invariants of the risk layer over random order streams (hypothesis).

No sequence of submissions, cancels and bars ever leaves a position or the
exposure above its limit: checked at every fill, with open orders, latency and
partial fills in play. Prices are constant so that equity does not drift and
every excess would be the risk layer's fault.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from finbot_bt.contracts import ExecutionEvent, OrderFilled
from finbot_bt.contracts.risk import (
    ExposureLimitRule,
    PositionLimitRule,
    RiskConfig,
    SymbolPositionLimit,
)
from finbot_bt.execution import FillConfig, ParticipationCap
from finbot_bt.execution.risk_book import RiskBook
from tests.factories import T0, d, flat_bar, latency, order, simulator

PRICES = {"SPY": d(100), "QQQ": d(50), "IWM": d(20)}
MAX_SHARES = d(100)
QQQ_MAX_VALUE = d(3000)
MAX_GROSS_PCT = d(150)
MAX_NET_PCT = d(80)
CASH = d(10000)

submit = st.tuples(
    st.just("submit"),
    st.sampled_from(sorted(PRICES)),
    st.sampled_from(["buy", "sell"]),
    st.integers(min_value=1, max_value=120),
    st.sampled_from(["market", "limit_through", "limit_away"]),
)
cancel = st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20))
advance = st.tuples(st.just("bar"), st.integers(min_value=1, max_value=3))
actions = st.lists(st.one_of(submit, submit, cancel, advance), min_size=1, max_size=40)


def _config(position: bool, exposure: bool) -> RiskConfig:
    return RiskConfig(
        position_limit=PositionLimitRule(
            max_shares=MAX_SHARES, per_symbol=(SymbolPositionLimit(symbol="QQQ", max_value=QQQ_MAX_VALUE),),
        ) if position else None,
        exposure_limit=ExposureLimitRule(
            max_gross_exposure_pct=MAX_GROSS_PCT, max_net_exposure_pct=MAX_NET_PCT,
        ) if exposure else None,
    )


def _limit_price(side: str, kind: str, price: Decimal) -> Decimal | None:
    if kind == "market":
        return None
    through = (kind == "limit_through") == (side == "buy")
    return price + 1 if through else price - 1


def _check(sim: Any, position: bool, exposure: bool) -> None:
    quantities = {s: sim.get_position(s).quantity for s in PRICES}
    equity = sim.get_account_value(PRICES)
    assert equity == CASH  # fills at the mark, no costs: equity cannot drift
    if position:
        for symbol, quantity in quantities.items():
            assert abs(quantity) <= MAX_SHARES, (symbol, quantity)
        assert abs(quantities["QQQ"]) * PRICES["QQQ"] <= QQQ_MAX_VALUE
    if exposure:
        gross = sum(abs(q) * PRICES[s] for s, q in quantities.items())
        net = abs(sum(q * PRICES[s] for s, q in quantities.items()))
        assert gross * 100 <= MAX_GROSS_PCT * equity, (gross, quantities)
        assert net * 100 <= MAX_NET_PCT * equity, (net, quantities)


@settings(max_examples=150, deadline=None)
@given(
    steps=actions,
    rules=st.sampled_from([(True, False), (False, True), (True, True)]),
    partial=st.booleans(),
    delayed=st.booleans(),
)
def test_risk_when_random_order_stream_then_no_fill_leaves_position_or_exposure_over_limit(
    steps: list[tuple[Any, ...]], rules: tuple[bool, bool], partial: bool, delayed: bool
) -> None:
    position, exposure = rules
    sim = simulator(
        CASH,
        risk=_config(position, exposure),
        fill=FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.5")) if partial else None),
        latency=latency(submission=30, fill_min=20, fill_max=90, cancel=40) if delayed else None,
        seed=7,
    )
    fills: list[int] = []

    def on_event(event: ExecutionEvent) -> None:
        if isinstance(event, OrderFilled):
            fills.append(1)
            _check(sim, position, exposure)

    sim.add_listener(on_event)
    now = T0
    sim.process_market_data(now, {s: flat_bar(p, now, volume=40) for s, p in PRICES.items()})
    for step in steps:
        if step[0] == "submit":
            _, symbol, side, quantity, kind = step
            limit = _limit_price(side, kind, PRICES[symbol])
            sim.submit_order(order(side, quantity, "market" if limit is None else "limit",
                                   symbol=symbol, limit=limit), now)
        elif step[0] == "cancel":
            open_orders = sim.open_orders()
            if open_orders:
                sim.cancel_order(open_orders[step[1] % len(open_orders)].order_id, now)
        else:
            for _ in range(step[1]):
                now += timedelta(minutes=1)
                sim.process_market_data(now, {s: flat_bar(p, now, volume=40) for s, p in PRICES.items()})
    _assert_book_matches_rebuild(sim)
    now += timedelta(minutes=1)
    sim.process_market_data(now, {s: flat_bar(p, now, volume=10**6) for s, p in PRICES.items()})
    _check(sim, position, exposure)
    _assert_book_matches_rebuild(sim)


def _assert_book_matches_rebuild(sim: Any) -> None:
    """The event-maintained book equals one rebuilt from scratch (no drift)."""
    kept = sim.risk._book
    kept.settle()  # changes are applied when a check reads the totals
    fresh = RiskBook()
    fresh.rebuild(sim)
    for name in ("buys", "sells", "gross", "net_long", "net_short", "value", "missing"):
        assert getattr(kept, name) == getattr(fresh, name), name
