"""Venue: the simulated clock, latency legs and the race rules between cancels and fills."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from finbot_bt.contracts import LiquiditySide, Order, OrderStatus
from finbot_bt.errors import MarketDataError
from finbot_bt.execution.order_book import OrderBook
from finbot_bt.execution.venue import Venue
from finbot_bt.execution.working import VenueFill, WorkingOrder
from tests.factories import T0, latency, ms, order, simulator


class Recorder:
    """A VenueHandler that writes down what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, datetime]] = []

    def accept(self, working: WorkingOrder, ts: datetime) -> None:
        self.calls.append(("accept", working.order.order_id, ts))

    def finish(self, working: WorkingOrder, ts: datetime) -> None:
        self.calls.append((f"finish {working.terminal}", working.order.order_id, ts))

    def terminate(self, working: WorkingOrder, status: OrderStatus, ts: datetime, reason: str) -> None:
        self.calls.append((f"terminate {status.value} {reason}", working.order.order_id, ts))

    def cancel_too_late(self, order: Order, ts: datetime) -> None:
        self.calls.append(("too late", order.order_id, ts))

    def report_fill(self, working: WorkingOrder, fill: VenueFill, ts: datetime) -> None:
        self.calls.append((f"report {fill.quantity}", working.order.order_id, ts))


def _venue(**legs: int) -> tuple[Venue, OrderBook]:
    book = OrderBook("sim", retain_history=True)
    return Venue(latency(**legs), random.Random(7), book), book


def _open(book: OrderBook, order_id: str = "a") -> WorkingOrder:
    return book.open(replace(order(order_id=order_id), status=OrderStatus.SUBMITTED), T0)


def _fill(ts: datetime) -> VenueFill:
    return VenueFill(quantity=Decimal(10), price=Decimal(100), requested_price=Decimal(100), timestamp=ts,
                     liquidity=LiquiditySide.TAKER)


def test_venue_when_time_goes_backwards_then_raises_and_keeps_the_clock() -> None:
    venue, _ = _venue()
    venue.advance_clock(T0 + ms(10))
    with pytest.raises(MarketDataError, match="time went backwards"):
        venue.advance_clock(T0)
    assert venue.clock == T0 + ms(10)


def test_venue_when_no_timestamp_and_no_clock_then_raises() -> None:
    venue, _ = _venue()
    with pytest.raises(MarketDataError, match="clock has not started"):
        venue.now(None)
    assert venue.now(T0) == T0 and venue.now(None) == T0


def test_venue_when_fill_latency_is_a_range_then_draws_are_inside_it_and_repeat_with_the_seed() -> None:
    first, _ = _venue(fill_min=5, fill_max=50)
    second, _ = _venue(fill_min=5, fill_max=50)
    draws = [first.draw_fill_latency() for _ in range(200)]
    assert all(ms(5) <= d <= ms(50) for d in draws) and len(set(draws)) > 1
    assert draws == [second.draw_fill_latency() for _ in range(200)]


def test_venue_when_order_travels_then_accepted_after_submission_latency() -> None:
    venue, book = _venue(submission=30)
    working = _open(book)
    venue.send_order("a", T0)
    recorder = Recorder()
    venue.drain(T0 + ms(29), recorder)
    assert recorder.calls == [] and working.live_from is None
    venue.drain(T0 + ms(30), recorder)
    assert recorder.calls == [("accept", "a", T0 + ms(30))] and working.live_from == T0 + ms(30)


def test_venue_when_cancel_overtakes_its_order_then_order_is_cancelled_on_arrival() -> None:
    venue, book = _venue(submission=50, cancel=10)
    working = _open(book)
    venue.send_order("a", T0)
    venue.send_cancel("a", T0)
    recorder = Recorder()
    venue.drain(T0 + ms(50), recorder)
    assert working.cancel_at_venue
    assert recorder.calls == [("finish cancelled", "a", T0 + ms(50))]


def test_venue_when_cancel_reaches_a_filled_order_then_cancel_is_too_late() -> None:
    venue, book = _venue(cancel=10)
    working = _open(book)
    working.live_from = T0
    working.terminal = OrderStatus.FILLED.value
    venue.send_cancel("a", T0)
    recorder = Recorder()
    venue.drain(T0 + ms(10), recorder)
    assert recorder.calls == [("too late", "a", T0 + ms(10))]


def test_venue_when_cancel_reaches_a_working_order_then_it_is_terminated() -> None:
    venue, book = _venue(cancel=10)
    _open(book).live_from = T0
    venue.send_cancel("a", T0)
    recorder = Recorder()
    venue.drain(T0 + ms(10), recorder)
    assert recorder.calls == [("terminate cancelled user", "a", T0 + ms(10))]


def test_venue_when_fill_report_travels_then_delivered_at_fill_time_plus_latency() -> None:
    venue, book = _venue()
    _open(book)
    venue.send_report("a", _fill(T0), ms(25))
    recorder = Recorder()
    venue.drain(T0 + ms(25), recorder)
    assert recorder.calls == [("report 10", "a", T0 + ms(25))]


@pytest.mark.parametrize(
    ("status", "cancel_due", "bar_time", "expected"),
    [
        (OrderStatus.PENDING_CANCEL, 10, 20, True),
        (OrderStatus.PENDING_CANCEL, 20, 20, False),
        (OrderStatus.ACCEPTED, 10, 20, False),
    ],
    ids=["cancel-earlier-in-bar-wins", "cancel-at-bar-time-loses", "no-cancel-pending"],
)
def test_venue_when_fill_inside_bar_then_cancel_arrives_first_only_if_due_before(
    status: OrderStatus, cancel_due: int, bar_time: int, expected: bool
) -> None:
    venue, book = _venue(cancel=cancel_due)
    working = _open(book)
    working.status, working.snapshot = status, None  # the working record's status (the order is built from it)
    venue.send_cancel("a", T0)
    assert venue.cancel_arrives_first(working.order, T0 + ms(bar_time)) is expected


def test_venue_when_simulator_latency_is_replaced_then_later_legs_travel_with_it() -> None:
    sim = simulator()
    sim.latency = latency(submission=40)
    assert sim.venue.latency.submission_latency == ms(40)
    accepted = sim.submit_order(order(order_id="a", order_type="limit", limit="90"), T0)
    assert accepted.status is OrderStatus.SUBMITTED
    sim.advance_time(T0 + ms(40))
    assert sim.get_order("a").status is OrderStatus.ACCEPTED


def test_venue_arrives_now_only_with_zero_submission_latency_and_nothing_in_flight() -> None:
    venue, _ = _venue()
    assert venue.arrives_now()
    assert venue.queue.next_sequence == 1  # the arrival's sequence number is consumed as if queued
    venue.send_cancel("a", T0)
    assert not venue.arrives_now() and venue.queue.next_sequence == 2  # a leg in flight: queue it
    slow, _ = _venue(submission=5)
    assert not slow.arrives_now() and slow.queue.next_sequence == 0


def test_venue_arrive_delivers_like_a_queued_submission() -> None:
    venue, book = _venue()
    recorder = Recorder()
    working = _open(book, "a")
    venue.arrive(working, T0, recorder)
    assert working.live_from == T0 and recorder.calls == [("accept", "a", T0)]
    overtaken = _open(book, "b")
    overtaken.cancel_at_venue = True
    venue.arrive(overtaken, T0 + ms(1), recorder)
    assert overtaken.terminal == "cancelled" and recorder.calls[-1] == ("finish cancelled", "b", T0 + ms(1))
    venue.arrive(None, T0, recorder)  # gone from the book: nothing happens
    assert len(recorder.calls) == 2


def test_venue_latency_flags_follow_a_replaced_latency() -> None:
    venue, _ = _venue()
    assert venue.instant and venue.fixed_fill_latency == ms(0) and venue.draw_fill_latency() == ms(0)
    venue.latency = latency(submission=5, fill_min=3)
    assert not venue.instant and venue.fixed_fill_latency == ms(3) and venue.draw_fill_latency() == ms(3)
    venue.latency = latency(fill_min=1, fill_max=2)
    assert venue.fixed_fill_latency is None and ms(1) <= venue.draw_fill_latency() <= ms(2)


def test_simulator_instant_submission_numbers_queue_actions_as_the_queued_path_did() -> None:
    # Each submission consumed one queue sequence number before arrivals bypassed the queue;
    # checkpoints store the next number, so it must not move.
    sim = simulator()
    sim.process_market_data(T0, {"SPY": Decimal(100)})
    for n in range(3):
        sim.submit_order(order(order_id=f"o{n}"), T0)
    assert sim.queue.next_sequence == 3 and len(sim.queue) == 0
    assert [o.status for o in sim.orders()] == [OrderStatus.ACCEPTED] * 3
    assert all(o.accepted_at == T0 for o in sim.orders())


def test_venue_fill_latency_draws_are_those_of_randint() -> None:
    # draw_fill_latency uses randrange(span + 1): the same draws as randint(0, span), so seeded
    # runs and checkpointed RNG states keep their fill times.
    venue, _ = _venue(fill_min=1, fill_max=9)
    reference = random.Random(7)
    span = 8000  # microseconds between 1 ms and 9 ms
    assert [venue.draw_fill_latency() for _ in range(200)] == [
        ms(1) + timedelta(microseconds=reference.randint(0, span)) for _ in range(200)]
