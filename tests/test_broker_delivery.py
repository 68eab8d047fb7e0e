"""NotificationDelivery: core events applied to Backtrader orders, positions and notifications."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import backtrader as bt

from finbot_bt import FinbotBroker
from finbot_bt.broker.delivery import follow_trail
from finbot_bt.contracts.events import OrderAccepted
from tests.bt_harness import Plan, make_ohlcv, pandas_feed, run
from tests.factories import order

FRAME = make_ohlcv(30, seed=5)


def daily() -> list[Any]:
    return [pandas_feed(FRAME, name="A")]


def test_delivery_when_orders_are_sent_on_a_strategy_call_then_their_events_wait_for_the_next_cycle() -> None:
    seen: dict[str, Any] = {}

    def place_and_cancel(s: Any) -> None:
        target = s.keep("order", s.buy(size=1, exectype=bt.Order.Limit, price=1.0))
        s.broker.cancel(target)  # sends the order first: its acceptance waits for next()
        seen["deferred"] = [type(e).__name__ for e in s.broker._delivery.deferred]
        seen["status_now"] = target.status

    def after(s: Any) -> None:
        seen["deferred_after"] = list(s.broker._delivery.deferred)

    result = run(FinbotBroker, daily, {3: [place_and_cancel], 4: [after]})
    assert "OrderAccepted" in seen["deferred"]
    assert seen["status_now"] == bt.Order.Canceled
    assert seen["deferred_after"] == []
    # The deferred acceptance of an order already cancelled notifies nothing more.
    assert [(r[0], r[2]) for r in result["log"]] == [(4, "Submitted"), (4, "Canceled")]


def test_delivery_when_record_events_is_off_then_no_event_is_kept_and_notifications_still_come() -> None:
    broker: list[Any] = []

    def factory() -> Any:
        broker.append(FinbotBroker(record_events=False))
        return broker[0]

    result = run(factory, daily, {3: [lambda s: s.buy(size=2)]})
    assert broker[0].events == []
    assert broker[0].equity_curve == []
    assert [r[2] for r in result["log"]] == ["Submitted", "Accepted", "Completed"]


def test_delivery_when_an_int_order_fills_then_sizes_stay_ints_and_the_position_moves() -> None:
    seen: dict[str, Any] = {}
    plan: Plan = {3: [lambda s: s.keep("int", s.buy(size=3)), lambda s: s.keep("float", s.buy(size=1.5))],
                  5: [lambda s: seen.update(int=s.kept["int"].executed.size, float=s.kept["float"].executed.size,
                                            position=s.broker.getposition(s.data).size)]}
    run(FinbotBroker, daily, plan)
    assert (seen["int"], type(seen["int"])) == (3, int)
    assert (seen["float"], type(seen["float"])) == (1.5, float)
    assert seen["position"] == 4.5


def test_delivery_when_an_event_names_an_order_it_does_not_track_then_nothing_changes() -> None:
    broker = FinbotBroker()
    broker.init()
    untracked = order(order_id="nobody")
    broker._delivery.apply(OrderAccepted(order=untracked, timestamp=FRAME.index[0].to_pydatetime(), sequence=1))
    assert list(broker.notifs) == []
    assert broker._router.bt_orders == {}


def test_follow_trail_when_core_stop_and_limit_moved_then_the_bt_order_shows_them() -> None:
    bt_order = SimpleNamespace(created=SimpleNamespace(price=10.0, pricelimit=9.5), exectype=bt.Order.StopTrailLimit)
    follow_trail(bt_order, order("sell", 1, "stop_limit", stop="12.25", limit="12.0"))
    assert (bt_order.created.price, bt_order.created.pricelimit) == (12.25, 12.0)
    plain = SimpleNamespace(created=SimpleNamespace(price=10.0, pricelimit=None), exectype=bt.Order.StopTrail)
    follow_trail(plain, order("sell", 1, "stop_limit", stop="11", limit="10.5"))
    assert (plain.created.price, plain.created.pricelimit) == (11.0, None)
