"""Fill rules per order type: backtrader-semantics.md section 2.4, buys and mirrored sells.

Every case starts from the signal bar O100 H101 L99 C100 at T0; the order is
submitted right after it (zero latency) and the following bars are fed one a day.
``expected`` lists, per following bar, the fill price on that bar ("" = no fill).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from finbot_bt.contracts import Bar, Order, OrderFilled, OrderSide, OrderType
from finbot_bt.execution.matching import MatchState, match_limit, match_order, match_stop
from tests.factories import T0, bar, daily_bars, order, primed, run_bars, simulator

OHLC = tuple[str, str, str, str]


def fills_per_bar(new: Order, *ohlc: OHLC) -> list[str]:
    sim = primed()
    sim.submit_order(new, T0)
    out: list[str] = []
    for item in daily_bars(*ohlc, start=1):
        events = run_bars(sim, [item])
        prices = [str(e.execution.price) for e in events if isinstance(e, OrderFilled)]
        out.append(",".join(prices))
    return out


CASES: list[tuple[str, Order, list[OHLC], list[str]]] = [
    # market: next bar's open
    ("market-buy-open", order("buy", 1), [("103", "104", "102", "103.5")], ["103"]),
    ("market-sell-open", order("sell", 1), [("103", "104", "102", "103.5")], ["103"]),
    # market on close: the next session-closing bar's close
    ("moc-buy-close", order("buy", 1, "market_on_close"), [("103", "104", "102", "103.5")], ["103.5"]),
    ("moc-sell-close", order("sell", 1, "market_on_close"), [("103", "104", "102", "103.5")], ["103.5"]),
    # limit buy 98
    ("limit-buy-gap-open", order("buy", 1, "limit", limit="98"), [("97", "99", "96", "98")], ["97"]),
    ("limit-buy-touch", order("buy", 1, "limit", limit="98"), [("100", "101", "97", "99")], ["98"]),
    ("limit-buy-none", order("buy", 1, "limit", limit="98"), [("100", "101", "98.5", "100")], [""]),
    ("limit-buy-exact-low", order("buy", 1, "limit", limit="98"), [("100", "101", "98", "100")], ["98"]),
    # limit sell 102
    ("limit-sell-gap-open", order("sell", 1, "limit", limit="102"), [("103", "104", "102.5", "103")], ["103"]),
    ("limit-sell-touch", order("sell", 1, "limit", limit="102"), [("100", "103", "99", "101")], ["102"]),
    ("limit-sell-none", order("sell", 1, "limit", limit="102"), [("100", "101.5", "99", "100")], [""]),
    # stop buy 102
    ("stop-buy-gap-open", order("buy", 1, "stop", stop="102"), [("103", "104", "102.5", "103")], ["103"]),
    ("stop-buy-touch", order("buy", 1, "stop", stop="102"), [("100", "103", "99", "101")], ["102"]),
    ("stop-buy-none", order("buy", 1, "stop", stop="102"), [("100", "101.5", "99", "100")], [""]),
    # stop sell 98
    ("stop-sell-gap-open", order("sell", 1, "stop", stop="98"), [("97", "98", "96", "97")], ["97"]),
    ("stop-sell-touch", order("sell", 1, "stop", stop="98"), [("100", "101", "97", "99")], ["98"]),
    ("stop-sell-none", order("sell", 1, "stop", stop="98"), [("100", "101", "98.5", "100")], [""]),
    # stop limit buy, trigger 102
    ("stoplimit-buy-gap-fills-limit", order("buy", 1, "stop_limit", stop="102", limit="102.5"),
     [("103", "104", "102", "103.5")], ["102.5"]),
    ("stoplimit-buy-gap-then-limit-next-bar", order("buy", 1, "stop_limit", stop="102", limit="102.5"),
     [("103", "104", "102.8", "103.5"), ("102", "103", "101.5", "102.5")], ["", "102"]),
    ("stoplimit-buy-up-bar-limit-above-stop", order("buy", 1, "stop_limit", stop="102", limit="103"),
     [("100", "103", "99.5", "102.5")], ["102"]),
    ("stoplimit-buy-down-bar-limit-below-stop", order("buy", 1, "stop_limit", stop="102", limit="101.5"),
     [("101", "102.5", "99.5", "100")], ["101.5"]),
    ("stoplimit-buy-down-bar-limit-below-close", order("buy", 1, "stop_limit", stop="102", limit="101.5"),
     [("101", "102.5", "99.5", "101.8")], [""]),
    ("stoplimit-buy-up-bar-limit-below-stop-waits", order("buy", 1, "stop_limit", stop="102", limit="101.5"),
     [("100", "102.5", "99.5", "101"), ("100", "101", "99", "100.5")], ["", "100"]),
    ("stoplimit-buy-not-triggered", order("buy", 1, "stop_limit", stop="102", limit="103"),
     [("100", "101.5", "97", "100")], [""]),
    # stop limit sell, trigger 98 (mirror)
    ("stoplimit-sell-gap-fills-limit", order("sell", 1, "stop_limit", stop="98", limit="97.5"),
     [("97", "98", "96", "96.5")], ["97.5"]),
    ("stoplimit-sell-gap-then-limit-next-bar", order("sell", 1, "stop_limit", stop="98", limit="97.5"),
     [("97", "97.2", "96", "96.5"), ("98", "98.5", "97", "97.5")], ["", "98"]),
    ("stoplimit-sell-down-bar-limit-below-stop", order("sell", 1, "stop_limit", stop="98", limit="97"),
     [("100", "100.5", "97", "97.5")], ["98"]),
    ("stoplimit-sell-up-bar-limit-above-stop", order("sell", 1, "stop_limit", stop="98", limit="98.5"),
     [("99", "100.5", "97.5", "100")], ["98.5"]),
    ("stoplimit-sell-down-bar-limit-above-stop-waits", order("sell", 1, "stop_limit", stop="98", limit="98.5"),
     [("100", "100.5", "97.5", "99"), ("100", "101", "99", "100.5")], ["", "100"]),
    # trailing stop sell, amount 2: stop 98 -> 100 -> 102, then a bar with L101
    ("trail-sell-amount", order("sell", 1, "trailing_stop", trail_amount="2"),
     [("100", "102.5", "99", "102"), ("102", "104.5", "101.5", "104"), ("103", "103.5", "101", "101.5")],
     ["", "", "102"]),
    ("trail-sell-percent", order("sell", 1, "trailing_stop", trail_percent="0.02"),
     [("100", "102.5", "99", "102"), ("102", "104.5", "101.5", "104"), ("103", "103.5", "101", "101.5")],
     ["", "", "101.92"]),
    # trailing stop buy (mirror): stop 102 -> 100 -> 98, then a bar with H99
    ("trail-buy-amount", order("buy", 1, "trailing_stop", trail_amount="2"),
     [("100", "101", "97.5", "98"), ("98", "98.5", "95.5", "96"), ("97", "99", "96.5", "98.5")],
     ["", "", "98"]),
    # trailing stop limit: backtrader's p100/pl99.5/trail 2 is stop 98 with the limit 0.5 below
    ("trail-limit-sell", order("sell", 1, "trailing_stop_limit", stop="98", limit="97.5", trail_amount="2"),
     [("100", "102.5", "99", "102"), ("102", "104.5", "101.5", "104"), ("103", "103.5", "101", "101.5")],
     ["", "", "102"]),
]


@pytest.mark.parametrize(("new", "bars", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matching_when_next_bars_then_backtrader_fill_price(
    new: Order, bars: list[OHLC], expected: list[str]
) -> None:
    assert fills_per_bar(new, *bars) == expected


def test_trailing_stop_when_bars_close_higher_then_stop_ratchets_up_only() -> None:
    sim = primed()
    placed = order("sell", 1, "trailing_stop", trail_amount="2")
    sim.submit_order(placed, T0)
    stops = [sim.get_order(placed.order_id).stop_price]  # type: ignore[union-attr]
    for item in daily_bars(("100", "102.5", "99", "102"), ("102", "104.5", "101.5", "104"),
                           ("104", "104", "102.5", "103"), start=1):
        run_bars(sim, [item])
        stops.append(sim.get_order(placed.order_id).stop_price)  # type: ignore[union-attr]
    assert stops == [Decimal(98), Decimal(100), Decimal(102), Decimal(102)]


def test_trailing_stop_when_submitted_before_any_bar_then_first_close_sets_stop() -> None:
    sim = simulator()
    placed = order("sell", 1, "trailing_stop", trail_amount="2")
    sim.submit_order(placed, T0)
    run_bars(sim, daily_bars(("100", "101", "99", "100"), ("99", "99.5", "97", "97.5"), start=1))
    done = sim.get_order(placed.order_id)
    assert done is not None and done.avg_fill_price == Decimal(98)


# ---------------------------------------------------------------- pure rules

SIGNAL = bar("100", "101", "99", "100")


@pytest.mark.parametrize(
    ("side", "limit", "expected"),
    [
        (OrderSide.BUY, "100", ("100", True)),
        (OrderSide.BUY, "99.5", ("99.5", False)),
        (OrderSide.BUY, "98.9", None),
        (OrderSide.SELL, "100", ("100", True)),
        (OrderSide.SELL, "100.5", ("100.5", False)),
        (OrderSide.SELL, "101.1", None),
    ],
    ids=["buy-at-open", "buy-touch", "buy-none", "sell-at-open", "sell-touch", "sell-none"],
)
def test_match_limit_when_signal_bar_then_open_or_limit(
    side: OrderSide, limit: str, expected: tuple[str, bool] | None
) -> None:
    match = match_limit(side, Decimal(limit), SIGNAL)
    if expected is None:
        assert match is None
    else:
        assert match is not None and (str(match.price), match.at_open) == expected
        assert match.limit and match.slippable is match.at_open


@pytest.mark.parametrize(
    ("side", "stop", "expected"),
    [
        (OrderSide.BUY, "100", ("100", True)),
        (OrderSide.BUY, "100.5", ("100.5", False)),
        (OrderSide.BUY, "101.5", None),
        (OrderSide.SELL, "100", ("100", True)),
        (OrderSide.SELL, "99.5", ("99.5", False)),
        (OrderSide.SELL, "98.5", None),
    ],
    ids=["buy-gap", "buy-touch", "buy-none", "sell-gap", "sell-touch", "sell-none"],
)
def test_match_stop_when_signal_bar_then_open_or_stop(
    side: OrderSide, stop: str, expected: tuple[str, bool] | None
) -> None:
    match = match_stop(side, Decimal(stop), SIGNAL)
    if expected is None:
        assert match is None
    else:
        assert match is not None and (str(match.price), match.at_open) == expected
        assert match.bound == (SIGNAL.high if side is OrderSide.BUY else SIGNAL.low)


@pytest.mark.parametrize("side", list(OrderSide), ids=lambda s: s.value)
def test_match_stop_limit_when_triggered_inside_bar_then_slippage_bound_never_past_limit(side: OrderSide) -> None:
    buy = side is OrderSide.BUY
    state = MatchState(side=side, order_type=OrderType.STOP_LIMIT,
                       stop=Decimal("100.5" if buy else "99.5"), limit=Decimal("100.7" if buy else "99.3"))
    up_bar: Bar = bar("100", "101", "99", "100.2")
    match = match_order(state, up_bar)
    assert match is not None and state.triggered
    assert match.bound == Decimal("100.7" if buy else "99.3")
