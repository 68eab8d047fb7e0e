"""OrderLifecycle: venue fills and terminations, their link cascades, fill reports, retirement."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from finbot_bt.contracts import (
    LiquiditySide,
    Order,
    OrderCancelled,
    OrderFilled,
    OrderStatus,
)
from finbot_bt.execution import ExecutionSimulator
from finbot_bt.execution.working import VenueFill
from tests.factories import T0, kinds, latency, ms, of, order, record, simulator


def _submit(sim: ExecutionSimulator, o: Order) -> Order:
    return sim.submit_order(o, T0)


def _fill(quantity: int, when: datetime = T0) -> VenueFill:
    return VenueFill(quantity=Decimal(quantity), price=Decimal(100), requested_price=Decimal(100), timestamp=when,
                     liquidity=LiquiditySide.TAKER)


def test_lifecycle_when_terminated_with_a_report_in_flight_then_account_hears_after_the_report() -> None:
    sim = simulator(latency=latency(fill_min=10))
    events = record(sim)
    _submit(sim, order(order_id="a", quantity=10))
    working = sim.book.working["a"]
    sim.lifecycle.venue_fill(working, _fill(4))
    sim.lifecycle.terminate(working, OrderStatus.CANCELLED, T0, "user")
    assert "OrderCancelled" not in kinds(events, "a") and "a" in sim.book.working
    sim.lifecycle.drain(T0 + ms(10))
    assert kinds(events, "a")[-2:] == ["OrderFilled", "OrderCancelled"]
    assert "a" not in sim.book.working and sim.get_order("a").filled_quantity == Decimal(4)


def test_lifecycle_when_oco_member_fills_outside_a_pass_then_siblings_cancelled_newest_first() -> None:
    sim = simulator()
    events = record(sim)
    for name in ("a", "b", "c"):
        _submit(sim, order(order_id=name, order_type="limit", limit="90", oco="g"))
    sim.lifecycle.venue_fill(sim.book.working["a"], _fill(10))
    assert [e.order_id for e in of(events, OrderCancelled)] == ["c", "b"]
    assert [e.reason for e in of(events, OrderCancelled)] == ["oco", "oco"]


def test_lifecycle_when_bracket_parent_fills_then_children_activate() -> None:
    sim = simulator()
    _submit(sim, order(order_id="p"))
    _submit(sim, order("sell", order_id="tp", order_type="limit", limit="110", parent="p", oco="x"))
    child = sim.book.working["tp"]
    assert not child.active
    sim.lifecycle.venue_fill(sim.book.working["p"], _fill(10))
    assert child.active and sim.get_order("p").status is OrderStatus.FILLED


def test_lifecycle_when_bracket_child_is_cancelled_then_working_parent_goes_too() -> None:
    sim = simulator()
    events = record(sim)
    _submit(sim, order(order_id="p", order_type="limit", limit="90"))
    _submit(sim, order("sell", order_id="sl", order_type="stop", stop="80", parent="p"))
    sim.lifecycle.terminate(sim.book.working["sl"], OrderStatus.CANCELLED, T0, "user")
    assert [(e.order_id, e.reason) for e in of(events, OrderCancelled)] == [("sl", "user"), ("p", "bracket")]
    assert sim.open_orders() == []


def test_lifecycle_when_unfunded_opening_reported_then_rejected_and_dependents_cancelled() -> None:
    sim = simulator(cash=100)
    events = record(sim)
    _submit(sim, order(order_id="p", quantity=1, order_type="limit", limit="90"))
    _submit(sim, order("sell", order_id="tp", quantity=1, order_type="limit", limit="110", parent="p"))
    sim.lifecycle.venue_fill(sim.book.working["p"], _fill(5))  # 5 x 100 > 100 cash
    assert kinds(events, "p")[-1] == "OrderRejected" and of(events, OrderFilled) == []
    assert [(e.order_id, e.reason) for e in of(events, OrderCancelled)] == [("tp", "parent rejected")]
