"""Simulator order features: partial fills and volume caps, time in force, OCO, brackets."""

from __future__ import annotations

from datetime import datetime

from finbot_bt.contracts import (
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    RejectionReason,
)
from finbot_bt.execution import BarPercentCap, FillConfig, FixedSizeCap, ParticipationCap
from tests.factories import (
    MINUTE,
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


def capped(cap, cash: str = "1000000"):  # type: ignore[no-untyped-def]
    return primed(cash, fill=FillConfig(volume_cap=cap))


def filled(events, order_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(e.execution.quantity) for e in of(events, OrderFilled, order_id)]


# ---------------------------------------------------------------- partial fills

def test_fixed_size_cap_when_market_2500_then_backtrader_partials_and_vwap() -> None:
    sim = capped(FixedSizeCap(size=d("1000")))
    events = record(sim)
    sim.submit_order(order("buy", 2500, order_id="M"), T0)
    run_bars(sim, daily_bars(("101", "102", "100", "101"), ("102", "103", "101", "102"),
                             ("103", "104", "102", "103"), start=1, volume="1000"))
    fills = of(events, OrderFilled, "M")
    assert [(str(f.execution.quantity), str(f.execution.price)) for f in fills] == [
        ("1000", "101"), ("1000", "102"), ("500", "103")]
    assert [f.order.status for f in fills] == [S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED]
    assert [str(f.order.filled_quantity) for f in fills] == ["1000", "2000", "2500"]
    assert [f.order.avg_fill_price for f in fills] == [d("101"), d("101.5"), d("101.8")]
    assert [f.is_partial for f in fills] == [True, True, False]


def test_participation_cap_when_two_orders_then_volume_shared_in_time_priority() -> None:
    sim = capped(ParticipationCap(fraction=d("0.1")))
    events = record(sim)
    sim.submit_order(order("buy", 80, order_id="A"), T0)
    sim.submit_order(order("buy", 50, order_id="B"), T0)
    run_bars(sim, daily_bars(FLAT, start=1, volume="1000"))
    assert (filled(events, "A"), filled(events, "B")) == (["80"], ["20"])
    run_bars(sim, daily_bars(FLAT, start=2, volume="1000"))
    assert filled(events, "B") == ["20", "30"]


def test_volume_cap_when_zero_volume_bar_then_nothing_fills_and_order_waits() -> None:
    sim = capped(ParticipationCap(fraction=d("0.5")))
    sim.submit_order(order("buy", 10, order_id="Z"), T0)
    assert of(run_bars(sim, daily_bars(FLAT, start=1, volume="0")), OrderFilled) == []
    assert sim.get_order("Z").status is S.ACCEPTED  # type: ignore[union-attr]
    events = run_bars(sim, daily_bars(FLAT, start=2, volume="15"))
    assert filled(events, "Z") == ["7"]


def test_volume_cap_when_volume_unknown_then_not_capped() -> None:
    sim = capped(ParticipationCap(fraction=d("0.01")))
    sim.submit_order(order("buy", 500, order_id="U"), T0)
    assert filled(run_bars(sim, daily_bars(FLAT, start=1)), "U") == ["500"]


def test_bar_percent_cap_when_10_percent_then_100_per_bar() -> None:
    sim = capped(BarPercentCap(percent=d("10")))
    sim.submit_order(order("buy", 250, order_id="P"), T0)
    events = run_bars(sim, daily_bars(FLAT, FLAT, FLAT, start=1, volume="1000"))
    assert filled(events, "P") == ["100", "100", "50"]


def test_fixed_size_cap_when_bar_volume_smaller_then_volume_caps() -> None:
    sim = capped(FixedSizeCap(size=d("1000")))
    sim.submit_order(order("buy", 50, order_id="V"), T0)
    assert filled(run_bars(sim, daily_bars(FLAT, start=1, volume="30")), "V") == ["30"]


# ---------------------------------------------------------------- time in force

def test_day_order_when_next_day_begins_then_expired_before_trading() -> None:
    start = datetime(2024, 1, 2, 10, 0)
    sim = simulator()
    sim.process_market_data(start, {"SPY": bar(*FLAT, start)})
    placed = sim.submit_order(order("buy", 1, "limit", limit="95", tif="day", order_id="D"), start)
    assert placed.expire_at == datetime(2024, 1, 2, 23, 59, 59, 999999)
    quiet = run_bars(sim, [bar(*FLAT, start + MINUTE), bar(*FLAT, datetime(2024, 1, 2, 16, 0))])
    assert quiet == []
    events = run_bars(sim, [bar("94", "95", "90", "92", datetime(2024, 1, 3, 9, 31))])
    assert kinds(events) == ["OrderExpired"]
    expired = of(events, OrderExpired)[0]
    assert expired.order.status is S.EXPIRED and expired.timestamp == datetime(2024, 1, 3, 9, 31)
    assert sim.get_position("SPY").is_flat


def test_day_order_when_daily_bars_then_expires_on_next_bar_without_being_tried() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, "limit", limit="101", tif="day", order_id="D"), T0)
    events = run_bars(sim, daily_bars(("99", "100", "98", "99"), start=1))
    assert kinds(events) == ["OrderExpired"]


def test_gtd_order_when_bar_at_expiry_then_still_tried_and_expires_after() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, "limit", limit="90", tif="gtd", expire_at=daily(2), order_id="G"), T0)
    assert run_bars(sim, daily_bars(FLAT, FLAT, start=1)) == []
    events = run_bars(sim, daily_bars(("89", "90", "88", "89"), start=3))
    assert kinds(events) == ["OrderExpired"]


def test_gtd_order_when_in_flight_at_expiry_then_expires_after_arrival_not_crash() -> None:
    from tests.factories import latency, ms

    sim = primed(latency=latency(submission=100))
    events = record(sim)
    sim.submit_order(order("buy", 1, "limit", limit="90", tif="gtd", expire_at=T0 + ms(50), order_id="G"), T0)
    sim.advance_time(T0 + ms(60))
    assert sim.get_order("G").status is S.SUBMITTED  # type: ignore[union-attr]
    sim.advance_time(T0 + ms(200))
    assert kinds(events, "G") == ["OrderSubmitted", "OrderAccepted", "OrderExpired"]


def test_gtd_order_when_no_expiry_then_rejected_invalid_order() -> None:
    sim = primed()
    rejected = sim.submit_order(order("buy", 1, "limit", limit="90", tif="gtd"), T0)
    assert rejected.status is S.REJECTED and rejected.rejection_reason is RejectionReason.INVALID_ORDER


def test_ioc_order_when_partially_fillable_then_remainder_cancelled() -> None:
    sim = capped(FixedSizeCap(size=d("4")))
    events = record(sim)
    sim.submit_order(order("buy", 10, tif="ioc", order_id="I"), T0)
    run_bars(sim, daily_bars(FLAT, FLAT, start=1, volume="1000"))
    assert kinds(events, "I") == ["OrderSubmitted", "OrderAccepted", "OrderFilled", "OrderCancelled"]
    assert of(events, OrderCancelled)[0].reason == "unfilled remainder of an IOC order"
    done = sim.get_order("I")
    assert done is not None and done.status is S.CANCELLED and done.filled_quantity == d(4)


def test_ioc_order_when_not_marketable_then_cancelled_after_one_bar() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, "limit", limit="90", tif="ioc", order_id="I"), T0)
    events = run_bars(sim, daily_bars(FLAT, start=1))
    assert kinds(events) == ["OrderCancelled"]
    assert of(events, OrderCancelled)[0].reason == "not fillable at once"


def test_fok_order_when_cap_below_quantity_then_nothing_fills_and_cancelled() -> None:
    sim = capped(FixedSizeCap(size=d("4")))
    sim.submit_order(order("buy", 10, tif="fok", order_id="F"), T0)
    events = run_bars(sim, daily_bars(FLAT, start=1, volume="1000"))
    assert kinds(events) == ["OrderCancelled"]
    assert sim.get_order("F").filled_quantity == 0  # type: ignore[union-attr]


def test_fok_order_when_fully_fillable_then_filled() -> None:
    sim = capped(FixedSizeCap(size=d("40")))
    sim.submit_order(order("buy", 10, tif="fok", order_id="F"), T0)
    assert filled(run_bars(sim, daily_bars(FLAT, start=1, volume="1000")), "F") == ["10"]


# ---------------------------------------------------------------- OCO

def test_oco_when_one_fills_then_others_cancelled() -> None:
    sim = primed()
    events = record(sim)
    sim.submit_order(order("buy", 1, "limit", limit="97", oco="g", order_id="L"), T0)
    sim.submit_order(order("buy", 1, "stop", stop="102", oco="g", order_id="S"), T0)
    sim.submit_order(order("buy", 1, "limit", limit="96", oco="g", order_id="L2"), T0)
    run_bars(sim, daily_bars(("101", "103", "100", "102"), start=1))
    assert filled(events, "S") == ["1"]
    cancelled = of(events, OrderCancelled)
    assert sorted((e.order_id, e.reason) for e in cancelled) == [("L", "oco"), ("L2", "oco")]
    assert sim.open_orders() == []


def test_oco_when_member_partially_fills_then_it_keeps_working() -> None:
    sim = capped(FixedSizeCap(size=d("5")))
    events = record(sim)
    sim.submit_order(order("buy", 10, "limit", limit="100", oco="g", order_id="A"), T0)
    sim.submit_order(order("buy", 10, "limit", limit="90", oco="g", order_id="B"), T0)
    run_bars(sim, daily_bars(FLAT, FLAT, start=1, volume="1000"))
    assert filled(events, "A") == ["5", "5"]
    assert sim.get_order("A").status is S.FILLED  # type: ignore[union-attr]
    assert sim.get_order("B").status is S.CANCELLED  # type: ignore[union-attr]


def test_oco_when_member_cancelled_then_others_cancelled() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, "limit", limit="90", oco="g", order_id="A"), T0)
    sim.submit_order(order("sell", 1, "limit", limit="110", oco="g", order_id="B"), T0)
    events = record(sim)
    sim.cancel_order("A", T0)
    assert sorted((e.order_id, e.reason) for e in of(events, OrderCancelled)) == [("A", "user"), ("B", "oco")]


def test_oco_when_member_rejected_at_submit_then_group_cancelled() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, "limit", limit="90", oco="g", order_id="A"), T0)
    events = record(sim)
    sim.submit_order(order("buy", 0, "limit", limit="80", oco="g", order_id="B"), T0)
    assert kinds(events) == ["OrderRejected", "OrderCancelled"]
    assert sim.get_order("A").status is S.CANCELLED  # type: ignore[union-attr]


# ---------------------------------------------------------------- brackets

def bracket(sim, parent_type: str = "market", parent_limit: str | None = None):  # type: ignore[no-untyped-def]
    sim.submit_order(order("buy", 10, parent_type, limit=parent_limit, order_id="P"), T0)
    sim.submit_order(order("sell", 10, "stop", stop="95", parent="P", order_id="SL"), T0)
    sim.submit_order(order("sell", 10, "limit", limit="105", parent="P", order_id="TP"), T0)


def test_bracket_when_parent_fills_then_children_trade_from_the_next_bar() -> None:
    sim = primed()
    events = record(sim)
    bracket(sim)
    first = run_bars(sim, daily_bars(("100", "106", "94", "104"), start=1))
    assert filled(first, "P") == ["10"] and filled(first, "TP") == [] and filled(first, "SL") == []
    second = run_bars(sim, daily_bars(("104", "106", "103", "105"), start=2))
    assert [str(e.execution.price) for e in of(second, OrderFilled, "TP")] == ["105"]
    assert [(e.order_id, e.reason) for e in of(second, OrderCancelled)] == [("SL", "bracket")]
    assert sim.get_position("SPY").is_flat and sim.cash == d("10050")
    assert kinds(events, "SL") == ["OrderSubmitted", "OrderAccepted", "OrderCancelled"]


def test_bracket_when_stop_child_fills_then_take_profit_cancelled() -> None:
    sim = primed()
    bracket(sim)
    run_bars(sim, daily_bars(FLAT, start=1))
    events = run_bars(sim, daily_bars(("98", "99", "94", "95"), start=2))
    assert [str(e.execution.price) for e in of(events, OrderFilled, "SL")] == ["95"]
    assert [(e.order_id, e.reason) for e in of(events, OrderCancelled)] == [("TP", "bracket")]
    assert sim.get_position("SPY").realized_pnl == d("-50")


def test_bracket_when_parent_not_filled_then_children_inactive() -> None:
    sim = primed()
    bracket(sim, "limit", "90")
    events = run_bars(sim, daily_bars(("104", "110", "91", "108"), start=1))
    assert of(events, OrderFilled) == []
    assert [o.order_id for o in sim.open_orders()] == ["P", "SL", "TP"]


def test_bracket_when_parent_cancelled_then_children_cancelled() -> None:
    sim = primed()
    bracket(sim, "limit", "90")
    events = record(sim)
    sim.cancel_order("P", T0)
    assert [(e.order_id, e.order.status) for e in of(events, OrderCancelled)] == [
        ("P", S.CANCELLED), ("SL", S.CANCELLED), ("TP", S.CANCELLED)]
    assert sim.open_orders() == []


def test_bracket_when_parent_unknown_or_finished_then_child_rejected_parent_inactive() -> None:
    sim = primed()
    events = record(sim)
    sim.submit_order(order("sell", 1, "limit", limit="105", parent="ghost", order_id="C1"), T0)
    sim.submit_order(order("buy", 1, "limit", limit="90", order_id="P"), T0)
    sim.cancel_order("P", T0)
    sim.submit_order(order("sell", 1, "limit", limit="105", parent="P", order_id="C2"), T0)
    reasons = [(e.order_id, e.reason) for e in of(events, OrderRejected)]
    assert reasons == [("C1", RejectionReason.PARENT_INACTIVE), ("C2", RejectionReason.PARENT_INACTIVE)]


def test_bracket_when_child_added_after_parent_filled_then_active_at_once() -> None:
    sim = primed()
    sim.submit_order(order("buy", 10, order_id="P"), T0)
    run_bars(sim, daily_bars(FLAT, start=1))
    sim.submit_order(order("sell", 10, "limit", limit="101", parent="P", order_id="C"), daily(1))
    events = run_bars(sim, daily_bars(("100", "102", "99", "101"), start=2))
    assert filled(events, "C") == ["10"]


def test_partial_fills_when_many_then_average_price_is_exact_vwap_of_executions() -> None:
    sim = capped(FixedSizeCap())
    sim.submit_order(order("buy", 28, order_id="V"), T0)
    fills = [("2", "105.21"), ("6", "108.34"), ("9", "109.17"), ("7", "100.39"), ("4", "96.21")]
    for index, (volume, price) in enumerate(fills, start=1):
        run_bars(sim, [bar(price, "120", "90", price, daily(index), volume=volume)])
    done = sim.get_order("V")
    assert done is not None and done.status is S.FILLED
    assert [str(e.quantity) for e in done.executions] == [q for q, _ in fills]
    notional = sum((d(q) * d(p) for q, p in fills), d(0))
    assert done.avg_fill_price == notional / d(28) == d("104.6628571428571428571428571")
