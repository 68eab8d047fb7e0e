"""Simulator timing: submission, venue arrival, fill reports, cancel races."""

from __future__ import annotations

from datetime import datetime

from finbot_bt.contracts import (
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderStatus,
    RejectionReason,
)
from tests.factories import (
    MINUTE,
    SIGNAL_BAR,
    T0,
    bar,
    d,
    daily,
    kinds,
    latency,
    ms,
    of,
    order,
    primed,
    record,
    simulator,
)

S = OrderStatus
OPEN = datetime(2024, 1, 2, 10, 0)


def intraday(minute: int, ohlc: tuple[str, str, str, str] = SIGNAL_BAR, **kwargs: object):  # type: ignore[no-untyped-def]
    return bar(*ohlc, OPEN + minute * MINUTE, **kwargs)  # type: ignore[arg-type]


def feed(sim, *bars):  # type: ignore[no-untyped-def]
    events = []
    for item in bars:
        events.extend(sim.process_market_data(item.timestamp, {"SPY": item}))
    return events


# ---------------------------------------------------------------- submission and acceptance

def test_submit_when_zero_latency_then_submitted_and_accepted_at_once() -> None:
    sim = primed()
    events = record(sim)
    returned = sim.submit_order(order("buy", 10, order_id="M"), T0)
    assert kinds(events) == ["OrderSubmitted", "OrderAccepted"]
    assert returned.status is S.ACCEPTED
    assert (returned.created_at, returned.submitted_at, returned.accepted_at) == (T0, T0, T0)


def test_market_order_when_zero_latency_then_fills_at_next_bar_open_not_its_own_bar() -> None:
    sim = primed()
    sim.submit_order(order("buy", 10, order_id="M"), T0)
    assert sim.get_order("M").status is S.ACCEPTED  # type: ignore[union-attr]
    events = feed(sim, bar("103", "104", "102", "103.5", daily(1)))
    fill = of(events, OrderFilled, "M")[0]
    assert fill.execution.price == d("103")
    assert fill.execution.timestamp == T0 and fill.timestamp == T0
    assert fill.execution.execution_id == "M-1"
    done = sim.get_order("M")
    assert done is not None and done.status is S.FILLED and done.filled_at == T0
    assert sim.cash == d("8970")


def test_submit_when_submission_latency_then_accepted_at_arrival_time() -> None:
    sim = simulator(latency=latency(submission=100))
    feed(sim, intraday(0))
    events = record(sim)
    returned = sim.submit_order(order("buy", 1, order_id="L"), OPEN)
    assert returned.status is S.SUBMITTED and kinds(events) == ["OrderSubmitted"]
    feed(sim, intraday(1))
    accepted = of(events, OrderAccepted, "L")[0]
    assert accepted.timestamp == OPEN + ms(100)
    assert sim.get_order("L").accepted_at == OPEN + ms(100)  # type: ignore[union-attr]


def test_order_when_arriving_inside_a_bar_then_trades_from_the_next_bar() -> None:
    sim = simulator(latency=latency(submission=100))
    feed(sim, intraday(0))
    sim.submit_order(order("buy", 1, order_id="L"), OPEN)
    first = feed(sim, intraday(1, ("101", "102", "100", "101")))
    assert of(first, OrderFilled) == []
    second = feed(sim, intraday(2, ("102", "103", "101", "102")))
    fill = of(second, OrderFilled, "L")[0]
    assert fill.execution.price == d("102")
    assert fill.execution.timestamp == OPEN + MINUTE


def test_order_when_arriving_before_explicit_open_time_then_trades_on_that_bar() -> None:
    sim = simulator(latency=latency(submission=100))
    feed(sim, intraday(0))
    sim.submit_order(order("buy", 1, order_id="L"), OPEN)
    events = feed(sim, intraday(1, ("101", "102", "100", "101"), open_time=OPEN + ms(200)))
    fill = of(events, OrderFilled, "L")[0]
    assert fill.execution.price == d("101") and fill.execution.timestamp == OPEN + ms(200)


def test_daily_bars_when_latency_then_order_misses_the_next_bar() -> None:
    sim = primed(latency="fast")
    sim.submit_order(order("buy", 1, order_id="F"), T0)
    assert of(feed(sim, bar("101", "102", "100", "101", daily(1))), OrderFilled) == []
    fill = of(feed(sim, bar("102", "103", "101", "102", daily(2))), OrderFilled, "F")[0]
    assert fill.execution.price == d("102")


# ---------------------------------------------------------------- fill reports

def test_fill_report_when_fill_latency_then_reported_later_within_the_range() -> None:
    sim = primed(latency=latency(fill_min=100, fill_max=200), seed=7)
    sim.submit_order(order("buy", 1, order_id="R"), T0)
    fill = of(feed(sim, bar("101", "102", "100", "101", daily(1))), OrderFilled, "R")[0]
    delay = fill.execution.reported_at - fill.execution.timestamp  # type: ignore[operator]
    assert ms(100) <= delay <= ms(200)
    assert fill.timestamp == fill.execution.reported_at
    assert fill.latency_seconds == (fill.timestamp - T0).total_seconds()
    assert 0.1 <= fill.latency_seconds <= 0.2


def test_fill_report_when_in_flight_then_cash_and_status_change_on_arrival() -> None:
    sim = primed(latency=latency(fill_min=500))
    sim.submit_order(order("buy", 10, "limit", limit="99.5", order_id="R"), T0)
    events = feed(sim, bar("100", "101", "99", "100", daily(1)))
    assert of(events, OrderFilled) == []
    assert sim.get_order("R").status is S.ACCEPTED and sim.cash == d("10000")  # type: ignore[union-attr]
    later = sim.advance_time(daily(1) + ms(499))
    assert later == []
    arrived = sim.advance_time(daily(1) + ms(500))
    fill = of(arrived, OrderFilled, "R")[0]
    assert fill.execution.timestamp == daily(1) and fill.timestamp == daily(1) + ms(500)
    assert sim.cash == d("9005.0") and sim.get_order("R").status is S.FILLED  # type: ignore[union-attr]


# ---------------------------------------------------------------- cancels

def test_cancel_when_order_working_and_zero_latency_then_cancelled_at_once() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, "limit", limit="90", order_id="C"), T0)
    events = record(sim)
    returned = sim.cancel_order("C", T0)
    assert returned is not None and returned.status is S.CANCELLED and returned.cancelled_at == T0
    assert kinds(events) == ["OrderCancelled"]
    assert of(events, OrderCancelled)[0].reason == "user"
    assert sim.open_orders() == []


def test_cancel_when_already_filled_then_cancel_rejected_too_late() -> None:
    sim = primed()
    sim.submit_order(order("buy", 1, order_id="F"), T0)
    feed(sim, bar("100", "101", "99", "100", daily(1)))
    events = record(sim)
    returned = sim.cancel_order("F", daily(1))
    assert returned is not None and returned.status is S.FILLED
    rejected = of(events, CancelRejected)[0]
    assert rejected.reason is RejectionReason.TOO_LATE_TO_CANCEL and rejected.order_id == "F"


def test_cancel_when_fill_report_in_flight_then_rejected_too_late_and_fill_stands() -> None:
    sim = primed(latency=latency(fill_min=300, cancel=50))
    sim.submit_order(order("buy", 1, "limit", limit="99.5", order_id="F"), T0)
    feed(sim, bar("100", "101", "99", "100", daily(1)))
    events = record(sim)
    pending = sim.cancel_order("F", daily(1))
    assert pending is not None and pending.status is S.PENDING_CANCEL
    sim.advance_time(daily(1) + ms(400))
    assert kinds(events) == ["CancelRejected", "OrderFilled"]
    rejected, fill = events
    assert rejected.reason is RejectionReason.TOO_LATE_TO_CANCEL  # type: ignore[attr-defined]
    assert (rejected.timestamp, fill.timestamp) == (daily(1) + ms(50), daily(1) + ms(300))
    assert sim.get_order("F").status is S.FILLED  # type: ignore[union-attr]


def test_cancel_when_report_arrives_before_cancel_then_still_rejected_too_late() -> None:
    sim = primed(latency=latency(fill_min=10, cancel=100))
    events = record(sim)
    sim.submit_order(order("buy", 1, order_id="F"), T0)
    sim.cancel_order("F", T0)
    feed(sim, bar("100", "101", "99", "100", daily(1)))
    assert kinds(events, "F") == ["OrderSubmitted", "OrderAccepted", "OrderFilled", "CancelRejected"]
    rejected = of(events, CancelRejected)[0]
    assert rejected.timestamp == T0 + ms(100) and rejected.reason is RejectionReason.TOO_LATE_TO_CANCEL
    assert rejected.order is not None and rejected.order.status is S.FILLED


def test_cancel_when_overtaking_in_flight_order_then_cancelled_on_arrival_without_acceptance() -> None:
    sim = primed(latency=latency(submission=100, cancel=20))
    events = record(sim)
    sim.submit_order(order("buy", 1, order_id="X"), T0)
    assert sim.cancel_order("X", T0 + ms(10)).status is S.PENDING_CANCEL  # type: ignore[union-attr]
    feed(sim, bar("100", "101", "99", "100", daily(1)))
    assert kinds(events, "X") == ["OrderSubmitted", "OrderCancelled"]
    cancelled = of(events, OrderCancelled)[0]
    assert cancelled.timestamp == T0 + ms(100) and cancelled.order.status is S.CANCELLED
    assert sim.get_position("SPY").is_flat


def test_cancel_when_slower_than_order_then_accepted_while_pending_then_cancelled() -> None:
    sim = primed(latency=latency(submission=10, cancel=50))
    events = record(sim)
    sim.submit_order(order("buy", 1, "limit", limit="90", order_id="X"), T0)
    sim.cancel_order("X", T0)
    sim.advance_time(T0 + ms(60))
    assert kinds(events, "X") == ["OrderSubmitted", "OrderAccepted", "OrderCancelled"]
    assert of(events, OrderAccepted)[0].order.status is S.PENDING_CANCEL
    assert of(events, OrderCancelled)[0].timestamp == T0 + ms(50)


def test_cancel_when_fill_happens_in_the_cancel_window_then_fill_is_real() -> None:
    sim = simulator(latency=latency(cancel=30_000))
    feed(sim, intraday(0))
    events = record(sim)
    sim.submit_order(order("buy", 1, order_id="B"), OPEN)
    sim.cancel_order("B", OPEN)
    feed(sim, intraday(1, ("101", "102", "100", "101")))
    assert kinds(events, "B") == ["OrderSubmitted", "OrderAccepted", "OrderFilled", "CancelRejected"]
    assert sim.get_order("B").status is S.FILLED  # type: ignore[union-attr]
    assert sim.get_position("SPY").quantity == d(1)


def test_cancel_race_when_another_order_fills_inside_the_bar_then_outcome_unchanged() -> None:
    outcomes = []
    for with_other in (False, True):
        sim = simulator(latency=latency(cancel=30_000))
        feed(sim, intraday(0))
        if with_other:
            sim.submit_order(order("buy", 1, "limit", limit="99.5", order_id="A"), OPEN)
        sim.submit_order(order("buy", 1, order_id="B"), OPEN)
        sim.cancel_order("B", OPEN)
        feed(sim, intraday(1, ("100", "101", "99", "100")))
        outcomes.append(sim.get_order("B").status)  # type: ignore[union-attr]
    assert outcomes == [S.FILLED, S.FILLED]


def test_cancel_when_already_pending_then_second_request_rejected() -> None:
    sim = primed(latency=latency(cancel=50))
    sim.submit_order(order("buy", 1, "limit", limit="90", order_id="C"), T0)
    sim.cancel_order("C", T0)
    events = record(sim)
    sim.cancel_order("C", T0 + ms(1))
    rejected = of(events, CancelRejected)[0]
    assert rejected.reason is RejectionReason.INVALID_ORDER
    sim.advance_time(T0 + ms(50))
    assert sim.get_order("C").status is S.CANCELLED  # type: ignore[union-attr]


def test_cancel_when_unknown_id_then_rejected_and_simulator_keeps_working() -> None:
    sim = primed()
    events = record(sim)
    assert sim.cancel_order("nope", T0) is None
    rejected = of(events, CancelRejected)[0]
    assert (rejected.reason, rejected.order_id, rejected.order) == (RejectionReason.UNKNOWN_ORDER, "nope", None)
    sim.submit_order(order("buy", 1, order_id="after"), T0)
    feed(sim, bar("100", "101", "99", "100", daily(1)))
    assert sim.get_order("after").status is S.FILLED  # type: ignore[union-attr]


def test_cancel_when_partially_filled_then_remainder_cancelled_after_report() -> None:
    from finbot_bt.execution import FillConfig, FixedSizeCap

    sim = primed(fill=FillConfig(volume_cap=FixedSizeCap(size=d("4"))), latency=latency(fill_min=100))
    sim.submit_order(order("buy", 10, "limit", limit="99.5", order_id="P"), T0)
    feed(sim, bar("100", "101", "99", "100", daily(1), volume="1000"))
    events = record(sim)
    sim.cancel_order("P", daily(1))
    assert events == []
    sim.advance_time(daily(1) + ms(100))
    assert kinds(events) == ["OrderFilled", "OrderCancelled"]
    done = sim.get_order("P")
    assert done is not None and done.status is S.CANCELLED and done.filled_quantity == d(4)
    assert done.executions[0].reported_at == daily(1) + ms(100)
    assert of(events, OrderCancelled)[0].timestamp == daily(1) + ms(100)


def test_cancel_when_it_reaches_the_venue_inside_the_bar_before_an_intrabar_fill_then_cancel_wins() -> None:
    # Fills inside a bar happen at the bar's time (10:05); the cancel reaches the venue at 10:02.1.
    sim = simulator(latency=latency(cancel=100))
    feed(sim, intraday(0))
    sim.submit_order(order("buy", 1, "limit", limit="99.5", order_id="C"), OPEN)
    events = record(sim)
    pending = sim.cancel_order("C", OPEN + 2 * MINUTE)
    assert pending is not None and pending.status is S.PENDING_CANCEL
    feed(sim, intraday(5, ("100", "101", "99", "100")))
    assert kinds(events, "C") == ["OrderCancelled"]
    assert of(events, OrderCancelled)[0].timestamp == OPEN + 2 * MINUTE + ms(100)
    assert sim.get_position("SPY").is_flat


def test_cancel_when_it_reaches_the_venue_after_the_bars_open_fill_then_too_late() -> None:
    sim = simulator(latency=latency(cancel=100))
    feed(sim, intraday(0))
    sim.submit_order(order("buy", 1, "limit", limit="101", order_id="O"), OPEN)
    events = record(sim)
    sim.cancel_order("O", OPEN + 2 * MINUTE)
    feed(sim, intraday(5, ("100", "101", "99", "100")))  # the open is under the limit: filled at 10:00
    assert kinds(events, "O") == ["OrderFilled", "CancelRejected"]
    assert of(events, CancelRejected)[0].reason is RejectionReason.TOO_LATE_TO_CANCEL


def _two_symbol_fill_order(**kwargs: object) -> list[str]:
    sim = simulator(100000, **kwargs)
    sim.process_market_data(T0, {"SPY": bar(*SIGNAL_BAR, T0), "QQQ": bar(*SIGNAL_BAR, T0)})
    events = record(sim)
    sim.submit_order(order("buy", 1, order_id="SPY-1"), T0)
    sim.submit_order(order("buy", 1, symbol="QQQ", order_id="QQQ-1"), T0)
    ts = daily(1)
    sim.process_market_data(ts, {"SPY": bar(*SIGNAL_BAR, ts, open_time=ts.replace(hour=9, minute=30)),
                                 "QQQ": bar(*SIGNAL_BAR, ts, open_time=ts.replace(hour=4))})
    sim.advance_time(ts + MINUTE)
    return [e.order_id for e in of(events, OrderFilled)]


def test_market_data_when_zero_latency_then_orders_across_symbols_fill_in_submission_order() -> None:
    # Backtrader walks its pending queue once a cycle: QQQ's earlier open does not put its order first.
    assert _two_symbol_fill_order() == ["SPY-1", "QQQ-1"]


def test_market_data_when_latency_then_bars_are_taken_by_their_open() -> None:
    assert _two_symbol_fill_order(latency=latency(submission=10)) == ["QQQ-1", "SPY-1"]
