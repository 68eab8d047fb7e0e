"""BarMatcher: the pass over working orders on a bar, the volume cap, one-bar orders, expiry."""

from __future__ import annotations

from decimal import Decimal

from finbot_bt.contracts import OrderCancelled, OrderExpired, OrderFilled
from finbot_bt.execution.fills import FillConfig, FixedSizeCap, ParticipationCap
from tests.factories import DAY, T0, bar, latency, ms, of, order, primed, record, simulator


def test_bar_matcher_when_volume_cap_then_orders_of_one_symbol_share_it_in_time_priority() -> None:
    sim = primed(fill=FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.5"))))
    events = record(sim)
    sim.submit_order(order(order_id="a", quantity=6), T0)
    sim.submit_order(order(order_id="b", quantity=6), T0)
    sim.process_market_data(T0 + DAY, {"SPY": bar("100", "101", "99", "100", T0 + DAY, volume=10)})
    fills = [(e.order_id, e.execution.quantity) for e in of(events, OrderFilled)]
    assert fills == [("a", Decimal(5))]  # half of 10 for the symbol, the first order first


def test_bar_matcher_when_ioc_order_partly_fills_then_the_rest_is_cancelled() -> None:
    sim = primed(fill=FillConfig(volume_cap=FixedSizeCap(size=Decimal(3))))
    events = record(sim)
    sim.submit_order(order(order_id="a", quantity=5, tif="ioc"), T0)
    sim.process_market_data(T0 + DAY, {"SPY": bar("100", "101", "99", "100", T0 + DAY, volume=100)})
    assert [e.execution.quantity for e in of(events, OrderFilled)] == [Decimal(3)]
    assert [e.reason for e in of(events, OrderCancelled)] == ["unfilled remainder of an IOC order"]


def test_bar_matcher_when_order_reaches_the_venue_inside_the_bar_then_it_trades_from_the_next_bar() -> None:
    sim = primed(latency=latency(submission=10))
    events = record(sim)
    sim.submit_order(order(order_id="a"), T0)  # live at T0 + 10 ms, after the next bar opened at T0
    sim.process_market_data(T0 + DAY, {"SPY": bar("100", "101", "99", "100", T0 + DAY)})
    assert of(events, OrderFilled) == []
    sim.process_market_data(T0 + 2 * DAY, {"SPY": bar("102", "103", "101", "102", T0 + 2 * DAY)})
    assert [(e.execution.price, e.execution.timestamp) for e in of(events, OrderFilled)] == [
        (Decimal(102), T0 + DAY)]


def test_bar_matcher_when_limit_is_out_of_reach_then_order_is_not_visited() -> None:
    sim = primed()
    sim.submit_order(order(order_id="a", order_type="limit", limit="90"), T0)
    index = sim.book.resting_index("SPY")
    assert index is not None
    assert index.pop_candidates(bar("100", "101", "95", "100", T0 + DAY)) == []
    index.refile([])
    sim.process_market_data(T0 + DAY, {"SPY": bar("100", "101", "89", "95", T0 + DAY)})
    assert sim.get_order("a").filled_quantity == Decimal(10)


def test_bar_matcher_when_expiry_passes_between_bars_then_expired_at_the_update_time() -> None:
    sim = simulator()
    events = record(sim)
    sim.submit_order(order(order_id="a", order_type="limit", limit="90", tif="gtd", expire_at=T0 + ms(5)), T0)
    sim.advance_time(T0 + ms(6))
    assert [(e.order_id, e.timestamp) for e in of(events, OrderExpired)] == [("a", T0 + ms(6))]
