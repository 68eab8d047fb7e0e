"""OrderBook: ids, working orders per symbol, links, status updates, retirement."""

from __future__ import annotations

from dataclasses import fields, replace
from decimal import Decimal
from typing import Any

import pytest

from finbot_bt.contracts import ExecutionEvent, Order, OrderStatus
from finbot_bt.errors import InvalidStateTransition
from finbot_bt.execution.order_book import OrderBook
from finbot_bt.execution.simulator import ExecutionSimulator
from tests.factories import DAY, T0, bar, order


def _submitted(**kwargs: Any) -> Order:
    return replace(order(**kwargs), status=OrderStatus.SUBMITTED)


def test_order_book_when_ids_are_drawn_then_numbered_from_the_simulator_id() -> None:
    book = OrderBook("alpha", retain_history=True)
    assert [book.next_order_id() for _ in range(3)] == ["alpha-1", "alpha-2", "alpha-3"]
    assert book.order_counter == 3


def test_order_book_when_orders_open_then_filed_per_symbol_in_time_priority() -> None:
    book = OrderBook("sim", retain_history=True)
    first = book.open(_submitted(order_id="a", symbol="SPY"), T0)
    second = book.open(_submitted(order_id="b", symbol="QQQ"), T0)
    third = book.open(_submitted(order_id="c", symbol="SPY"), T0)
    assert [w.sequence for w in (first, second, third)] == [0, 1, 2]
    assert [o.order_id for o in book.open_orders()] == ["a", "b", "c"]
    assert [o.order_id for o in book.open_orders("SPY")] == ["a", "c"]
    assert book.has_open("QQQ") and not book.has_open("IWM")


def test_order_book_when_links_are_opened_then_groups_and_children_are_kept() -> None:
    book = OrderBook("sim", retain_history=True)
    book.open(_submitted(order_id="p"), T0)
    book.open(_submitted(order_id="tp", side="sell", order_type="limit", limit="110", parent="p", oco="g"), T0)
    sl = book.open(_submitted(order_id="sl", side="sell", order_type="stop", stop="90", parent="p", oco="g"), T0)
    assert book.children == {"p": ["tp", "sl"]}
    assert book.oco == {"g": ["tp", "sl"]}
    assert not sl.active  # a child waits for its parent to fill


def test_order_book_when_every_member_is_retired_then_its_links_are_dropped() -> None:
    book = OrderBook("sim", retain_history=False)
    parent = book.open(_submitted(order_id="p"), T0)
    tp = book.open(_submitted(order_id="tp", side="sell", order_type="limit", limit="110", parent="p", oco="g"), T0)
    sl = book.open(_submitted(order_id="sl", side="sell", order_type="stop", stop="90", parent="p", oco="g"), T0)
    book.retire(parent)
    book.retire(tp)
    assert book.oco == {"g": ["tp", "sl"]} and book.children == {"p": ["tp", "sl"]}
    book.retire(sl)
    assert book.oco == {} and book.children == {} and book.by_symbol == {}
    assert book.orders == {}  # retain_history=False forgets finished orders


def test_order_book_when_status_move_is_illegal_then_raises_and_keeps_the_order() -> None:
    book = OrderBook("sim", retain_history=True)
    working = book.open(_submitted(order_id="a"), T0)
    book.update(working, status=OrderStatus.ACCEPTED, accepted_at=T0)
    assert book.get("a").status is OrderStatus.ACCEPTED
    with pytest.raises(InvalidStateTransition):
        book.update(working, status=OrderStatus.SUBMITTED)
    assert book.get("a") is working.order and working.order.status is OrderStatus.ACCEPTED


def test_order_book_when_orders_partly_filled_at_venue_then_pending_quantity_is_what_remains() -> None:
    book = OrderBook("sim", retain_history=True)
    buy = book.open(_submitted(order_id="b", quantity=10), T0)
    book.open(_submitted(order_id="s", side="sell", quantity=4), T0)
    buy.venue_filled = Decimal(3)
    assert book.pending_quantity("SPY") == Decimal(3)  # +7 still to buy, -4 to sell
    assert book.pending_quantity("QQQ") == 0


def test_order_book_when_book_is_replaced_then_resting_index_is_rebuilt() -> None:
    book = OrderBook("sim", retain_history=True)
    working = book.open(_submitted(order_id="a", order_type="limit", limit="99"), T0)
    before = book.resting_index("SPY")
    book.by_symbol = {"SPY": {"a": working}}  # as a checkpoint restore does
    after = book.resting_index("SPY")
    assert after is not None and after is not before and after.in_sync(book.by_symbol["SPY"])


def test_order_book_when_history_is_off_then_referenced_orders_keep_only_what_is_needed() -> None:
    book = OrderBook("sim", retain_history=True)
    done = book.open(_submitted(order_id="done"), T0)
    book.update(done, status=OrderStatus.ACCEPTED)
    book.update(done, status=OrderStatus.FILLED)
    book.retire(done)
    book.open(_submitted(order_id="open"), T0)
    queued = book.open(_submitted(order_id="queued"), T0)
    book.update(queued, status=OrderStatus.ACCEPTED)
    book.update(queued, status=OrderStatus.FILLED)
    book.retire(queued)
    kept = [o.order_id for o in book.referenced_orders({"queued"})]
    assert kept == ["open", "queued"]


def test_order_book_when_order_retires_unread_then_kept_as_values_and_rebuilt_equal_once_read() -> None:
    sim = ExecutionSimulator(Decimal(100_000), seed=1)
    built: list[ExecutionEvent] = []
    sim.add_record_listener(built.append, lambda *args: None)  # order events reach nobody built
    sim.submit_order(order(order_id="a", quantity=10), T0)
    sim.step_market_data(T0 + DAY, {"SPY": bar(100, 101, 99, 100, T0 + DAY)})
    entry = sim.book.orders["a"]
    assert isinstance(entry, tuple), "a finished order nobody read is kept as its values"
    assert sim.book.status("a") is OrderStatus.FILLED
    done = sim.get_order("a")
    assert done is not None and done.status is OrderStatus.FILLED and done.filled_quantity == Decimal(10)
    assert done == Order(**{f.name: getattr(done, f.name) for f in fields(Order)})  # a valid contract
    assert sim.get_order("a") is done and sim.book.orders["a"] is done, "built once, then kept"
    assert sim.orders() == [done] and built == []
