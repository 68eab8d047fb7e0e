"""OrderRouter: Backtrader orders in (brackets, OCO groups, submission timing, cancels, lookups)."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.broker.orders import refuse_compensation
from finbot_bt.errors import ConfigError
from tests.bt_harness import Plan, make_ohlcv, pandas_feed, run

FRAME = make_ohlcv(30, seed=11)


def daily() -> list[Any]:
    return [pandas_feed(FRAME, name="A")]


def test_router_when_a_bracket_member_does_not_transmit_then_it_is_held_until_one_does() -> None:
    seen: dict[str, Any] = {}

    def place(s: Any) -> None:
        router = s.broker._router
        parent = s.keep("parent", s.buy(size=1, exectype=bt.Order.Limit, price=1.0, transmit=False))
        seen["held"] = [o.ref for o in router.held[parent.ref]]
        seen["sent_before"] = parent.ref in router.core_ids
        child = s.sell(size=1, exectype=bt.Order.Stop, price=0.5, parent=parent, transmit=True)
        seen["sent_after"] = [r in router.core_ids for r in (parent.ref, child.ref)]
        seen["held_after"] = dict(router.held)
        seen["ids"] = (router.core_ids[parent.ref], router.core_ids[child.ref])

    def check(s: Any) -> None:
        child_id = seen["ids"][1]
        seen["child_parent"] = s.broker.sim.get_order(child_id).parent_id

    run(FinbotBroker, daily, {3: [place], 4: [check]})
    assert len(seen["held"]) == 1
    assert seen["sent_before"] is False
    assert seen["sent_after"] == [True, True]
    assert seen["held_after"] == {}
    assert seen["child_parent"] == seen["ids"][0]


def test_router_when_a_childs_parent_was_never_transmitted_then_the_child_is_rejected() -> None:
    def place(s: Any) -> None:
        parent = bt.BuyOrder(owner=s, data=s.data, size=1, exectype=bt.Order.Limit, price=1.0, transmit=False)
        s.keep("child", s.sell(size=1, exectype=bt.Order.Stop, price=0.5, parent=parent))

    result = run(FinbotBroker, daily, {3: [place]})
    assert [(r[0], r[2]) for r in result["log"]] == [(4, "Rejected")]


def test_router_when_a_held_member_is_cancelled_then_it_is_cancelled_at_once() -> None:
    seen: dict[str, Any] = {}

    def place(s: Any) -> None:
        parent = s.buy(size=1, exectype=bt.Order.Limit, price=1.0, transmit=False)
        seen["cancelled"] = s.broker.cancel(parent)
        seen["held"] = [list(group) for group in s.broker._router.held.values()]
        seen["sent"] = parent.ref in s.broker._router.core_ids

    result = run(FinbotBroker, daily, {3: [place]})
    assert seen == {"cancelled": True, "held": [[]], "sent": False}
    assert [(r[0], r[2]) for r in result["log"]] == [(4, "Canceled")]


def test_router_when_an_oco_member_is_placed_then_its_group_is_named_after_the_leaders_core_id() -> None:
    seen: dict[str, Any] = {}

    def place(s: Any) -> None:
        first = s.buy(size=1, exectype=bt.Order.Limit, price=1.0)
        second = s.buy(size=1, exectype=bt.Order.Limit, price=2.0, oco=first)
        third = s.buy(size=1, exectype=bt.Order.Limit, price=3.0, oco=second)
        seen["ids"] = [s.broker._router.core_ids[o.ref] for o in (first, second, third)]

    def check(s: Any) -> None:
        seen["groups"] = [s.broker.sim.get_order(core_id).oco_group for core_id in seen["ids"]]

    run(FinbotBroker, daily, {3: [place], 4: [check]})
    assert seen["groups"] == [f"oco-{seen['ids'][0]}"] * 3


def test_router_when_checksubmit_then_orders_reach_the_simulator_at_the_next_cycle() -> None:
    seen: dict[str, Any] = {}

    def place(s: Any) -> None:
        s.buy(size=1)
        seen["waiting"] = len(s.broker._router.to_submit)
        seen["open_in_sim"] = len(s.broker.sim.open_orders())

    run(FinbotBroker, daily, {3: [place], 4: [lambda s: seen.setdefault("after", len(s.broker._router.to_submit))]})
    assert seen == {"waiting": 1, "open_in_sim": 0, "after": 0}


def test_router_when_checksubmit_is_off_then_orders_reach_the_simulator_at_once() -> None:
    seen: dict[str, Any] = {}

    def place(s: Any) -> None:
        s.buy(size=1)
        seen["waiting"] = len(s.broker._router.to_submit)
        seen["open_in_sim"] = len(s.broker.sim.open_orders())

    run(lambda: FinbotBroker(checksubmit=False), daily, {3: [place]})
    assert seen == {"waiting": 0, "open_in_sim": 1}


def test_router_when_an_order_is_done_then_it_is_no_longer_tracked_and_its_status_stays_readable() -> None:
    seen: dict[str, Any] = {}
    plan: Plan = {3: [lambda s: s.keep("order", s.buy(size=1))],
                  6: [lambda s: seen.update(status=s.broker.orderstatus(s.kept["order"]),
                                            tracked=dict(s.broker._router.bt_orders),
                                            open=s.broker.get_orders_open())]}
    run(FinbotBroker, daily, plan)
    assert seen == {"status": bt.Order.Completed, "tracked": {}, "open": []}


def test_refuse_compensation_when_data_compensates_another_then_config_error_names_both() -> None:
    class _Data:
        _name = "hedge"
        _compensate = type("Other", (), {"_name": "main"})()

    with pytest.raises(ConfigError, match="'hedge' compensates 'main'"):
        refuse_compensation(_Data())
    refuse_compensation(type("Plain", (), {"_name": "x"})())
