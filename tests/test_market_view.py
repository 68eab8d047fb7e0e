"""MarketView: bar coercion, open times and reference prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finbot_bt.errors import MarketDataError
from finbot_bt.execution.market_view import MarketView
from tests.factories import DAY, T0, bar, order


def test_market_view_when_plain_price_then_one_price_bar_at_the_update_time() -> None:
    bars = MarketView().coerce_bars(T0, {"SPY": Decimal("101.5")})
    one = bars["SPY"]
    assert (one.open, one.high, one.low, one.close, one.timestamp) == (Decimal("101.5"),) * 4 + (T0,)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (bar("1", "1", "1", "1", T0 + DAY), "stamped"),
        (Decimal(0), "positive finite"),
        (Decimal("Infinity"), "positive finite"),
        (101.5, "must be a Bar or a Decimal, got float"),
    ],
    ids=["bar-after-update", "zero-price", "infinite-price", "float"],
)
def test_market_view_when_price_is_bad_then_market_data_error(value: object, message: str) -> None:
    with pytest.raises(MarketDataError, match=message):
        MarketView().coerce_bars(T0, {"SPY": value})  # type: ignore[dict-item]


def test_market_view_when_bar_has_no_open_time_then_previous_bar_of_its_symbol_opens_it() -> None:
    view = MarketView()
    first = bar("100", "101", "99", "100", T0)
    assert view.open_time("SPY", first) == T0  # nothing seen before: its own time
    view.last_bar["SPY"] = first
    assert view.open_time("SPY", bar("100", "101", "99", "100", T0 + DAY)) == T0
    assert view.open_time("SPY", bar("100", "101", "99", "100", T0 + DAY, open_time=T0 + DAY / 2)) == T0 + DAY / 2


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"order_type": "limit", "limit": "95"}, Decimal(95)),
        ({"order_type": "stop", "stop": "105"}, Decimal(105)),
        ({"order_type": "stop_limit", "stop": "105", "limit": "106"}, Decimal(105)),
        ({"order_type": "market"}, Decimal(100)),
    ],
    ids=["limit", "stop", "stop-limit", "market-last-close"],
)
def test_market_view_when_valuing_an_order_then_limit_stop_else_last_close(
    kwargs: dict[str, str], expected: Decimal
) -> None:
    view = MarketView()
    view.last_price["SPY"] = Decimal(100)
    assert view.reference_price(order(**kwargs)) == expected  # type: ignore[arg-type]
    assert view.reference_price(order(symbol="QQQ")) is None


def test_market_view_when_bars_recorded_then_last_bar_moves_back_unless_passed_again() -> None:
    view = MarketView()
    first, second = bar("100", "101", "99", "100", T0), bar("101", "102", "100", "101", T0 + DAY)
    view.record({"SPY": first}, ())
    assert view.bar_before == {} and view.last_price == {"SPY": Decimal(100)}
    view.record({"SPY": second}, ())
    assert view.bar_before == {"SPY": first} and view.last_bar == {"SPY": second}
    view.record({"SPY": second}, {"SPY"})  # its last bar passed again: the bar before stays
    assert view.bar_before == {"SPY": first} and view.last_price == {"SPY": Decimal(101)}
