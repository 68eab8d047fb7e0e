"""Cash and positions: backtrader-semantics.md 2.6 "Cash paths observed", stocks and futures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finbot_bt.contracts import Instrument, OrderFilled
from finbot_bt.errors import MarketDataError
from finbot_bt.execution import PercentCommission, PerContractCommission, Portfolio
from finbot_bt.execution.accounting import split_fill, updated_position
from tests.factories import T0, bar, d, daily, of, order, primed, run_bars, simulator

ZERO = Decimal(0)
FUTURES = Instrument(symbol="ES", multiplier=d("10"), margin=d("1000"))


def book(portfolio: Portfolio, quantity: str, price: str, fee: str = "0", symbol: str = "SPY",
         refuse: bool = True):  # type: ignore[no-untyped-def]
    return portfolio.book_fill(symbol, d(quantity), d(price), ZERO, d(fee), refuse_unfunded=refuse)


# ---------------------------------------------------------------- pure helpers

@pytest.mark.parametrize(
    ("position", "fill", "closed", "opened"),
    [
        ("0", "10", "0", "10"),
        ("10", "5", "0", "5"),
        ("10", "-4", "-4", "0"),
        ("10", "-10", "-10", "0"),
        ("10", "-25", "-10", "-15"),
        ("-10", "25", "10", "15"),
        ("-10", "-5", "0", "-5"),
    ],
    ids=["open", "add", "reduce", "close", "reverse-long", "reverse-short", "add-short"],
)
def test_split_fill_when_position_then_closed_before_opened(position: str, fill: str, closed: str, opened: str) -> None:
    assert split_fill(d(position), d(fill)) == (d(closed), d(opened))


@pytest.mark.parametrize(
    ("quantity", "avg", "fill", "price", "expected"),
    [
        ("0", "0", "10", "100", ("10", "100")),
        ("10", "100", "10", "110", ("20", "105")),
        ("20", "105", "-5", "120", ("15", "105")),
        ("10", "100", "-10", "90", ("0", "0")),
        ("10", "100", "-25", "95", ("-15", "95")),
    ],
    ids=["open", "average-up", "reduce-keeps-average", "close-zeroes", "reverse-takes-fill-price"],
)
def test_updated_position_when_fill_then_backtrader_average_rules(
    quantity: str, avg: str, fill: str, price: str, expected: tuple[str, str]
) -> None:
    assert updated_position(d(quantity), d(avg), d(fill), d(price)) == (d(expected[0]), d(expected[1]))


# ---------------------------------------------------------------- stock cash paths (Portfolio)

def test_portfolio_when_stock_buy_10_at_100_then_cash_9000_value_10000() -> None:
    portfolio = Portfolio(d("10000"))
    booking = book(portfolio, "10", "100")
    assert (booking.closed, booking.opened, booking.opening_refused) == (ZERO, d(10), False)
    assert portfolio.cash == d("9000")
    assert portfolio.equity({"SPY": d("100")}) == d("10000")


def test_portfolio_when_short_10_at_100_then_cash_11000_and_close_at_92_gives_10080() -> None:
    portfolio = Portfolio(d("10000"))
    book(portfolio, "-10", "100")
    assert portfolio.cash == d("11000")
    assert portfolio.equity({"SPY": d("95")}) == d("10050")
    booking = book(portfolio, "10", "92")
    assert booking.realized_pnl == d("80")
    assert portfolio.cash == d("10080")
    assert portfolio.position("SPY").quantity == ZERO and portfolio.position("SPY").avg_price == ZERO


def test_portfolio_when_reversal_then_closing_and_opening_booked_separately() -> None:
    portfolio = Portfolio(d("10000"))
    book(portfolio, "10", "100")
    booking = book(portfolio, "-25", "95")
    assert (booking.closed, booking.opened, booking.realized_pnl) == (d(-10), d(-15), d(-50))
    assert portfolio.cash == d("9000") + d("950") + d("1425")
    position = portfolio.position("SPY")
    assert (position.quantity, position.avg_price, position.realized_pnl) == (d(-15), d(95), d(-50))


def test_portfolio_when_opening_unfunded_then_refused_and_cash_unchanged() -> None:
    portfolio = Portfolio(d("500"))
    booking = book(portfolio, "10", "100")
    assert booking.opening_refused and booking.opened == ZERO and booking.commission == ZERO
    assert portfolio.cash == d("500") and portfolio.position("SPY").quantity == ZERO


def test_portfolio_when_unfunded_but_not_refusing_then_cash_goes_negative() -> None:
    portfolio = Portfolio(d("500"))
    booking = book(portfolio, "10", "100", refuse=False)
    assert not booking.opening_refused and portfolio.cash == d("-500")


def test_portfolio_when_held_symbol_has_no_price_then_key_error() -> None:
    portfolio = Portfolio(d("10000"))
    book(portfolio, "1", "100")
    with pytest.raises(KeyError):
        portfolio.equity({})


# ---------------------------------------------------------------- futures (Portfolio)

def test_portfolio_when_futures_then_margin_commission_and_mark_to_market() -> None:
    portfolio = Portfolio(d("10000"), {"ES": FUTURES})
    book(portfolio, "2", "100", fee="4", symbol="ES")
    assert portfolio.cash == d("7996")
    assert portfolio.equity({"ES": d("100")}) == d("9996")
    portfolio.mark_to_market("ES", d("95"))
    assert portfolio.cash == d("7896")
    portfolio.mark_to_market("ES", d("95"))
    assert portfolio.cash == d("7896")
    closing = portfolio.book_fill("ES", d("-2"), d("92"), d("4"), ZERO, refuse_unfunded=True)
    assert closing.realized_pnl == d("-160")
    assert portfolio.cash == d("9832")
    assert portfolio.position("ES").realized_pnl == d("-160")
    assert portfolio.position("ES").commission == d("8")


def test_portfolio_when_futures_added_then_existing_contracts_settled_to_fill_price() -> None:
    portfolio = Portfolio(d("10000"), {"ES": FUTURES})
    book(portfolio, "1", "100", symbol="ES")
    book(portfolio, "1", "103", symbol="ES")
    assert portfolio.cash == d("10000") - d("2000") + d("30")
    portfolio.mark_to_market("ES", d("104"))
    assert portfolio.cash == d("8030") + d("20")
    assert portfolio.position("ES").avg_price == d("101.5")


def test_portfolio_when_stock_mark_to_market_then_no_cash_change() -> None:
    portfolio = Portfolio(d("10000"))
    book(portfolio, "10", "100")
    portfolio.mark_to_market("SPY", d("50"))
    assert portfolio.cash == d("9000")


# ---------------------------------------------------------------- through the simulator

def test_simulator_when_percent_commission_buy_10_at_100_then_commission_1() -> None:
    sim = primed(commission=PercentCommission(rate=d("0.001")))
    sim.submit_order(order("buy", 10, order_id="B"), T0)
    fill = of(run_bars(sim, [bar("100", "101", "99", "100", daily(1))]), OrderFilled)[0]
    assert fill.execution.commission == d("1.000")
    assert sim.cash == d("8999.000")
    position = sim.get_position("SPY")
    assert (position.quantity, position.avg_price, position.commission) == (d(10), d(100), d("1.000"))


def test_simulator_when_buy_2_then_sell_5_at_95_then_backtrader_execution_bits() -> None:
    sim = primed(commission=PercentCommission(rate=d("0.001")))
    sim.submit_order(order("buy", 2), T0)
    run_bars(sim, [bar("100", "101", "99", "100", daily(1))])
    sim.submit_order(order("sell", 5, order_id="S"), daily(1))
    fill = of(run_bars(sim, [bar("95", "96", "94", "95", daily(2))]), OrderFilled, "S")[0]
    assert (fill.closed_quantity, fill.opened_quantity) == (d(-2), d(-3))
    assert fill.realized_pnl == d("-10")
    assert fill.execution.commission == d("0.475")
    assert (fill.position_quantity, fill.position_avg_price) == (d(-3), d(95))


def test_simulator_when_short_then_value_follows_close_and_cover_gives_10080() -> None:
    sim = primed()
    sim.submit_order(order("sell", 10), T0)
    run_bars(sim, [bar("100", "101", "94", "95", daily(1))])
    assert sim.cash == d("11000")
    assert sim.get_account_value() == d("10050")
    sim.submit_order(order("buy", 10), daily(1))
    run_bars(sim, [bar("92", "93", "91", "92", daily(2))])
    assert sim.cash == d("10080") and sim.get_position("SPY").realized_pnl == d("80")
    assert sim.positions() == {}


def test_simulator_when_futures_then_backtrader_cash_path_7996_7896_9832() -> None:
    sim = simulator(instruments=[FUTURES], commission=PerContractCommission(rate=d("2")))
    sim.process_market_data(T0, {"ES": bar("100", "100", "100", "100", T0)})
    sim.submit_order(order("buy", 2, symbol="ES"), T0)
    events = sim.process_market_data(daily(1), {"ES": bar("100", "101", "94", "95", daily(1))})
    assert of(events, OrderFilled)[0].execution.price == d("100")
    assert sim.cash == d("7896")
    assert sim.get_account_value() == d("9896")
    sim.submit_order(order("sell", 2, symbol="ES", order_id="X"), daily(1))
    events = sim.process_market_data(daily(2), {"ES": bar("92", "93", "91", "92", daily(2))})
    fill = of(events, OrderFilled, "X")[0]
    assert fill.realized_pnl == d("-160") and fill.execution.commission == d("4")
    assert sim.cash == d("9832")


def test_simulator_when_account_value_without_any_price_then_market_data_error() -> None:
    sim = primed()
    sim.portfolio.book_fill("QQQ", d("1"), d("10"), ZERO, ZERO, refuse_unfunded=True)
    with pytest.raises(MarketDataError, match="QQQ"):
        sim.get_account_value()
    assert sim.get_account_value({"QQQ": d("12")}) == d("10002")
