"""Slippage and commission models: formulas, flags, and the never-through-the-limit rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finbot_bt.contracts import Instrument, OrderFilled, OrderSide
from finbot_bt.errors import ConfigError
from finbot_bt.execution import (
    BasisPointsSlippage,
    FixedAmountSlippage,
    FixedCommission,
    NoCommission,
    NoSlippage,
    PercentCommission,
    PercentSlippage,
    PerContractCommission,
    PerShareCommission,
    SlippageModel,
    VolumeShareSlippage,
)
from tests.factories import T0, bar, d, daily_bars, of, order, primed, run_bars

BUY, SELL = OrderSide.BUY, OrderSide.SELL
STOCK = Instrument(symbol="SPY")


# ---------------------------------------------------------------- slippage formulas

@pytest.mark.parametrize(
    ("model", "side", "quantity", "volume", "expected"),
    [
        (PercentSlippage(rate=d("0.01")), BUY, "10", None, "101.00"),
        (PercentSlippage(rate=d("0.01")), SELL, "10", None, "99.00"),
        (BasisPointsSlippage(bps=d("25")), BUY, "10", None, "100.25"),
        (BasisPointsSlippage(bps=d("25")), SELL, "10", None, "99.75"),
        (FixedAmountSlippage(amount=d("0.5")), BUY, "10", None, "100.5"),
        (FixedAmountSlippage(amount=d("0.5")), SELL, "10", None, "99.5"),
        (VolumeShareSlippage(impact=d("0.1")), BUY, "100", "1000", "100.100"),
        (VolumeShareSlippage(impact=d("0.1")), SELL, "100", "1000", "99.900"),
        (VolumeShareSlippage(impact=d("0.1")), BUY, "5000", "1000", "110.0"),
        (VolumeShareSlippage(impact=d("0.1")), BUY, "100", None, "100"),
        (VolumeShareSlippage(impact=d("0.1")), BUY, "100", "0", "100"),
        (NoSlippage(), BUY, "10", None, "100"),
    ],
    ids=[
        "percent-buy", "percent-sell", "bps-buy", "bps-sell", "fixed-buy", "fixed-sell",
        "volume-share-buy", "volume-share-sell", "volume-share-capped-at-full-volume",
        "volume-share-unknown-volume", "volume-share-zero-volume", "none",
    ],
)
def test_slippage_when_applied_then_formula(
    model: SlippageModel, side: OrderSide, quantity: str, volume: str | None, expected: str
) -> None:
    item = bar("100", "200", "50", "100", volume=volume)
    assert model.slip(side, d("100"), d(quantity), item) == Decimal(expected)
    assert str(model.apply(side, d("100"), d("200") if side is BUY else d("50"), d(quantity), item)) == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda: PercentSlippage(rate=d("1")),
        lambda: PercentSlippage(rate=d("-0.01")),
        lambda: PercentSlippage(rate=0.01),  # type: ignore[arg-type]
        lambda: PercentSlippage(rate=d("NaN")),
        lambda: BasisPointsSlippage(bps=d("10000")),
        lambda: FixedAmountSlippage(amount=d("-1")),
        lambda: VolumeShareSlippage(impact=d("Infinity")),
        lambda: PerShareCommission(rate=d("-0.01")),
        lambda: PercentCommission(rate=d("0.001"), minimum=d("-1")),
        lambda: FixedCommission(amount=d("NaN")),
        lambda: PerContractCommission(rate=2),  # type: ignore[arg-type]
    ],
    ids=[
        "percent-one", "percent-negative", "percent-float", "percent-nan", "bps-10000", "fixed-negative",
        "impact-inf", "per-share-negative", "percent-comm-negative-min", "fixed-comm-nan",
        "per-contract-int",
    ],
)
def test_cost_model_when_bad_parameter_then_config_error(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        build()


# ---------------------------------------------------------------- slippage flags (through the simulator)

def first_fill(slippage: SlippageModel, new, *ohlc: tuple[str, str, str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    sim = primed(slippage=slippage)
    sim.submit_order(new, T0)
    out = []
    for item in daily_bars(*ohlc, start=1):
        fills = of(run_bars(sim, [item]), OrderFilled)
        out.append(",".join(str(e.execution.price) for e in fills))
    return out


NEXT = ("102", "104", "101", "103")
FLAG_CASES = [
    ("market-at-open-slips", PercentSlippage(rate=d("0.01")), order("buy", 1), [NEXT], ["103.02"]),
    ("market-at-open-off", PercentSlippage(rate=d("0.01"), at_open=False), order("buy", 1), [NEXT], ["102"]),
    ("market-sell-at-open-slips", PercentSlippage(rate=d("0.01")), order("sell", 1), [("102", "104", "100", "103")], ["100.98"]),
    ("market-sell-capped-at-low", PercentSlippage(rate=d("0.01")), order("sell", 1), [NEXT], ["101"]),
    ("stop-trigger-always-slips", FixedAmountSlippage(amount=d("0.5"), at_open=False),
     order("buy", 1, "stop", stop="103"), [NEXT], ["103.5"]),
    ("cap-to-bar-caps-at-high", FixedAmountSlippage(amount=d("0.5")),
     order("buy", 1, "stop", stop="102"), [("100", "102.2", "99", "101")], ["102.2"]),
    ("cap-to-bar-sell-caps-at-low", FixedAmountSlippage(amount=d("0.5")),
     order("sell", 1, "stop", stop="98"), [("100", "101", "97.8", "99")], ["97.8"]),
    ("no-cap-means-no-fill-then-next-bar", FixedAmountSlippage(amount=d("0.5"), cap_to_bar=False),
     order("buy", 1, "stop", stop="102"), [("100", "102.2", "99", "101"), ("101", "103", "100", "102")],
     ["", "102.5"]),
    ("allow-outside-bar", FixedAmountSlippage(amount=d("0.5"), allow_outside_bar=True),
     order("buy", 1, "stop", stop="102"), [("100", "102.2", "99", "101")], ["102.5"]),
    ("market-no-cap-rolls-to-next-bar", FixedAmountSlippage(amount=d("0.5"), cap_to_bar=False),
     order("buy", 1), [("102", "102", "101", "101.5"), ("100", "101", "99", "100")], ["", "100.5"]),
    ("gapped-limit-capped-at-limit", FixedAmountSlippage(amount=d("0.5")),
     order("buy", 1, "limit", limit="102.2"), [NEXT], ["102.2"]),
    ("gapped-limit-on-limit-only", FixedAmountSlippage(amount=d("0.5"), cap_to_bar=False),
     order("buy", 1, "limit", limit="102.2"), [NEXT], ["102.2"]),
    ("gapped-limit-no-flags-no-fill", FixedAmountSlippage(amount=d("0.5"), cap_to_bar=False, on_limit=False),
     order("buy", 1, "limit", limit="102.2"), [NEXT], [""]),
    ("gapped-limit-outside-bar-still-at-limit", FixedAmountSlippage(amount=d("0.5"), allow_outside_bar=True),
     order("buy", 1, "limit", limit="102.2"), [NEXT], ["102.2"]),
    ("gapped-limit-inside-slips", FixedAmountSlippage(amount=d("0.1")),
     order("buy", 1, "limit", limit="102.2"), [NEXT], ["102.1"]),
    ("gapped-sell-limit-capped-at-limit", FixedAmountSlippage(amount=d("0.5")),
     order("sell", 1, "limit", limit="101.8"), [NEXT], ["101.8"]),
    ("intrabar-limit-never-slips", FixedAmountSlippage(amount=d("0.5")),
     order("buy", 1, "limit", limit="98"), [("100", "101", "97", "99")], ["98"]),
    ("moc-never-slips", FixedAmountSlippage(amount=d("0.5")),
     order("buy", 1, "market_on_close"), [NEXT], ["103"]),
]


@pytest.mark.parametrize(("model", "new", "bars", "expected"), [c[1:] for c in FLAG_CASES],
                         ids=[c[0] for c in FLAG_CASES])
def test_slippage_flags_when_filling_then_backtrader_price(model, new, bars, expected) -> None:  # type: ignore[no-untyped-def]
    assert first_fill(model, new, *bars) == expected


def test_fill_when_slipped_then_execution_records_signed_slippage() -> None:
    sim = primed(slippage=FixedAmountSlippage(amount=d("0.5")))
    sim.submit_order(order("sell", 1, order_id="S"), T0)
    fill = of(run_bars(sim, daily_bars(NEXT, start=1)), OrderFilled)[0]
    assert fill.requested_price == Decimal("102")
    assert fill.execution.price == Decimal("101.5")
    assert fill.execution.slippage == Decimal("0.5")


_models = st.sampled_from([
    PercentSlippage(rate=d("0.01")),
    PercentSlippage(rate=d("0.05"), allow_outside_bar=True),
    FixedAmountSlippage(amount=d("0.7")),
    FixedAmountSlippage(amount=d("3"), allow_outside_bar=True, cap_to_bar=False),
    BasisPointsSlippage(bps=d("150"), on_limit=False),
    VolumeShareSlippage(impact=d("0.5")),
])
_px = st.integers(min_value=9000, max_value=11000).map(lambda v: Decimal(v) / 100)


@settings(max_examples=80, deadline=None)
@given(_models, st.sampled_from(["buy", "sell"]), st.lists(_px, min_size=4, max_size=4), _px,
       st.sampled_from(["limit", "stop_limit"]))
def test_limit_order_when_any_slippage_then_never_fills_worse_than_limit(
    model: SlippageModel, side: str, prices: list[Decimal], limit: Decimal, kind: str
) -> None:
    low, o, c, high = sorted(prices)
    sim = primed(slippage=model)
    new = order(side, 1, kind, limit=limit, stop=limit if kind == "stop_limit" else None)
    sim.submit_order(new, T0)
    run_bars(sim, [bar(o, high, low, c, T0.replace(day=3), volume="2")])
    done = sim.get_order(new.order_id)
    assert done is not None
    if done.avg_fill_price is not None:
        if side == "buy":
            assert done.avg_fill_price <= limit
        else:
            assert done.avg_fill_price >= limit


# ---------------------------------------------------------------- commission formulas

@pytest.mark.parametrize(
    ("model", "quantity", "price", "first", "expected"),
    [
        (NoCommission(), "10", "100", True, "0"),
        (PerShareCommission(rate=d("0.01"), minimum=d("1")), "50", "100", True, "1"),
        (PerShareCommission(rate=d("0.01"), minimum=d("1")), "200", "100", False, "2.00"),
        (PerShareCommission(rate=d("2")), "10", "100", True, "20"),
        (PerContractCommission(rate=d("2")), "2", "100", True, "4"),
        (PercentCommission(rate=d("0.001")), "10", "100", True, "1.000"),
        (PercentCommission(rate=d("0.001"), minimum=d("5")), "10", "100", True, "5"),
        (PercentCommission(rate=d("0.001")), "3", "95", False, "0.285"),
        (FixedCommission(amount=d("4.95")), "10", "100", True, "4.95"),
        (FixedCommission(amount=d("4.95")), "10", "100", False, "0"),
    ],
    ids=[
        "none", "per-share-minimum", "per-share-rate", "backtrader-fixed-2-per-unit", "per-contract",
        "percent", "percent-minimum", "percent-fraction", "fixed-first-fill", "fixed-later-fill",
    ],
)
def test_commission_when_charged_then_formula(model, quantity: str, price: str, first: bool, expected: str) -> None:  # type: ignore[no-untyped-def]
    charged = model.commission(d(quantity), d(price), STOCK, first)
    assert charged == Decimal(expected) and str(charged) == expected


def test_percent_commission_when_futures_then_notional_ignores_multiplier() -> None:
    futures = Instrument(symbol="ES", multiplier=d("50"), margin=d("1000"))
    assert PercentCommission(rate=d("0.001")).commission(d("2"), d("100"), futures, True) == Decimal("0.200")


def test_percent_commission_when_reversal_then_each_part_charged_and_closed_part_reported() -> None:
    sim = primed(commission=PercentCommission(rate=d("0.001")))
    sim.submit_order(order("buy", 10, order_id="B"), T0)
    run_bars(sim, daily_bars(("100", "101", "99", "100"), start=1))
    sim.submit_order(order("sell", 25, order_id="S"), T0.replace(day=3))
    fill = of(run_bars(sim, daily_bars(("100", "101", "99", "100"), start=2)), OrderFilled, "S")[0]
    assert (fill.closed_quantity, fill.opened_quantity) == (Decimal(-10), Decimal(-15))
    assert fill.execution.commission == Decimal("2.500")
    assert fill.closed_commission == Decimal("1.000")
    assert sim.cash == Decimal("10000") - Decimal("1.000") - Decimal("2.500") + Decimal("1500")


def test_fixed_commission_when_partial_fills_then_charged_once_per_order() -> None:
    from finbot_bt.execution import FillConfig, FixedSizeCap

    sim = primed(commission=FixedCommission(amount=d("5")), fill=FillConfig(volume_cap=FixedSizeCap(size=d("4"))))
    sim.submit_order(order("buy", 10, order_id="F"), T0)
    fills = of(run_bars(sim, daily_bars(*[("100", "101", "99", "100")] * 3, start=1, volume="1000")), OrderFilled)
    assert [e.execution.quantity for e in fills] == [Decimal(4), Decimal(4), Decimal(2)]
    assert [e.execution.commission for e in fills] == [Decimal(5), Decimal(0), Decimal(0)]
    assert sim.cash == Decimal("10000") - Decimal("1000") - Decimal("5")


@pytest.mark.parametrize(("amount", "fills"), [("1", True), ("150", False)])
def test_sell_slipped_through_zero_when_outside_bar_allowed_then_no_fill_and_no_state_change(
    amount: str, fills: bool
) -> None:
    sim = primed(slippage=FixedAmountSlippage(amount=d(amount), allow_outside_bar=True))
    sim.submit_order(order("buy", 1, order_id="B"), T0)  # buys are not at risk: their price rises
    run_bars(sim, daily_bars(NEXT, start=1))
    assert sim.get_position("SPY").quantity == 1
    cash = sim.cash
    assert sim.clock is not None
    sim.submit_order(order("sell", 1, order_id="S"), sim.clock)
    events = run_bars(sim, daily_bars(NEXT, start=2))
    assert bool(of(events, OrderFilled, "S")) is fills  # 102 - 150 < 0: no fill rather than a negative price
    if not fills:
        assert sim.get_order("S").is_open  # type: ignore[union-attr]
        assert sim.cash == cash and sim.get_position("SPY").quantity == 1


class _NegativeCommission(NoCommission):
    def commission(self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool) -> Decimal:
        return Decimal("-1")


def test_commission_model_returning_negative_when_filling_then_clear_error_before_booking() -> None:
    from finbot_bt.errors import ContractError

    sim = primed(commission=_NegativeCommission())
    cash = sim.cash
    sim.submit_order(order("buy", 1, order_id="B"), T0)
    with pytest.raises(ContractError, match="_NegativeCommission returned Decimal\\('-1'\\)"):
        run_bars(sim, daily_bars(NEXT, start=1))
    assert sim.cash == cash
    assert sim.get_position("SPY").quantity == 0
