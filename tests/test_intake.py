"""OrderIntake: the steps of submission, cancel requests and the kill switch."""

from __future__ import annotations

from datetime import datetime

from finbot_bt.contracts import (
    CancelRejected,
    Order,
    OrderCancelled,
    OrderRejected,
    OrderStatus,
    RejectionReason,
    TradingState,
)
from finbot_bt.execution import ExecutionSimulator
from finbot_bt.execution.intake import day_end
from tests.factories import T0, d, latency, ms, of, order, primed, record

R = RejectionReason


def _submit(sim: ExecutionSimulator, o: Order) -> Order:
    return sim.intake.submit(o, T0, reference_price=None, exempt=False, funds_price=None, close_session=None,
                             fixed_price=None)


def test_intake_when_id_is_reused_then_rejected_and_the_first_order_kept() -> None:
    sim = primed()
    events = record(sim)
    first = _submit(sim, order(order_id="a"))
    again = _submit(sim, order(order_id="a", quantity=3))
    assert again.status is OrderStatus.REJECTED and sim.get_order("a") is not None
    assert sim.get_order("a").quantity == first.quantity
    assert [e.reason for e in of(events, OrderRejected)] == [R.DUPLICATE_ORDER]


def test_intake_when_day_order_has_no_expiry_then_it_expires_at_the_end_of_its_day() -> None:
    sim = primed()
    accepted = _submit(sim, order(order_type="limit", limit="90", tif="day"))
    assert accepted.expire_at == day_end(T0) == datetime(2024, 1, 2, 23, 59, 59, 999999)


def test_intake_when_bracket_child_is_refused_then_its_unfilled_parent_is_cancelled() -> None:
    sim = primed(cash=1000)
    events = record(sim)
    _submit(sim, order(order_id="p", quantity=5, order_type="limit", limit="90"))
    child = _submit(sim, order("sell", order_id="sl", quantity=5, order_type="limit", parent="p"))  # no limit price
    assert child.status is OrderStatus.REJECTED
    assert [(e.order_id, e.reason) for e in of(events, OrderCancelled)] == [("p", "bracket child rejected")]


def test_intake_when_cancel_is_sent_twice_then_the_second_is_rejected_while_the_first_travels() -> None:
    sim = primed(latency=latency(cancel=10))
    events = record(sim)
    _submit(sim, order(order_id="a", order_type="limit", limit="90"))
    assert sim.intake.cancel("a", T0).status is OrderStatus.PENDING_CANCEL
    assert sim.intake.cancel("a", T0).status is OrderStatus.PENDING_CANCEL
    assert sim.intake.cancel("missing", T0) is None
    assert [e.reason for e in of(events, CancelRejected)] == [R.INVALID_ORDER, R.UNKNOWN_ORDER]
    sim.advance_time(T0 + ms(10))
    assert sim.get_order("a").status is OrderStatus.CANCELLED
    sim.intake.cancel("a", T0 + ms(10))
    assert of(events, CancelRejected)[-1].reason is R.TOO_LATE_TO_CANCEL


def test_intake_when_kill_switch_flattens_then_exempt_market_orders_close_every_position() -> None:
    sim = primed()
    _submit(sim, order(quantity=10))
    _submit(sim, order("sell", 4, symbol="QQQ"))
    sim.process_market_data(T0, {"SPY": d(100), "QQQ": d(50)})
    assert sim.get_position("QQQ").quantity == d(-4)
    sim.intake.kill_switch("stop", T0, cancel_open_orders=True, flatten=True)
    assert sim.trading_state is TradingState.HALTED and not sim.gate.bypass
    flat = sorted((o.symbol, o.side.value, o.quantity) for o in sim.open_orders())
    assert flat == [("QQQ", "buy", d(4)), ("SPY", "sell", d(10))]
