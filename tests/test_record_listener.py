"""Order events as working records: the path that builds no ``Order`` snapshot and no event.

While the broker is the simulator's only listener, order events reach it as the
order's working record plus the event's fields (``add_record_listener``). Both
paths must give the broker the same notifications, trades, values and event log:
random scenarios of the parity fuzzer run once on the record path (the default)
and once with a second, silent listener that forces every event to be built.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from finbot_bt import FinbotBroker
from finbot_bt.broker.delivery import NotificationDelivery
from finbot_bt.contracts import ExecutionEvent, OrderAccepted, OrderFilled, OrderSubmitted
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.risk import (
    DrawdownLimitRule,
    ExposureLimitRule,
    OrderRateLimit,
    OrderSizeRule,
    PositionLimitRule,
    RiskConfig,
)
from finbot_bt.execution.event_bus import EventBus
from finbot_bt.execution.simulator import ExecutionSimulator
from tests.factories import DAY, T0, bar, order
from tests.parity_fuzz import generate
from tests.parity_fuzz_check import run_one

SEEDS = range(40)


class _BuiltEvents(FinbotBroker):  # type: ignore[misc]
    """FinbotBroker with a second listener: the simulator builds every event."""

    def _build_simulator(self) -> ExecutionSimulator:
        sim = super()._build_simulator()
        sim.add_listener(lambda event: None)
        return sim


RULES = RiskConfig(
    position_limit=PositionLimitRule(max_shares=Decimal(40)),
    exposure_limit=ExposureLimitRule(max_gross_exposure_pct=Decimal(300), max_net_exposure_pct=Decimal(200)),
    drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=Decimal(50), max_total_drawdown_pct=Decimal(80)),
    order_size=OrderSizeRule(max_order_quantity=Decimal(30)),
    order_rate=OrderRateLimit(max_orders=3, interval=timedelta(hours=1)),
)
CONFIGS: dict[str, dict[str, Any]] = {"default": {}, "normal-latency-risk": {"latency": "normal", "risk": RULES, "seed": 7}}


def _run(seed: int, factory: type[Any], config: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    brokers: list[Any] = []

    def make() -> Any:
        broker = factory(**config)
        brokers.append(broker)
        return broker

    result = run_one(generate(seed), make)
    return result, [b.events.records() for b in brokers]


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("seed", SEEDS)
def test_record_path_when_fuzz_scenario_runs_then_same_as_with_built_events(seed: int, config: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    records = 0
    on_record = NotificationDelivery.on_record

    def counting(self: NotificationDelivery, *args: Any) -> None:
        nonlocal records
        records += 1
        on_record(self, *args)

    monkeypatch.setattr(NotificationDelivery, "on_record", counting)
    fast, fast_logs = _run(seed, FinbotBroker, CONFIGS[config])
    taken = records
    built, built_logs = _run(seed, _BuiltEvents, CONFIGS[config])
    assert records == taken, "the broker with a second listener must get built events only"
    assert fast == built  # a run Backtrader breaks (exactbars modes) must break the same way
    assert fast_logs == built_logs  # the event log stores the same values, in the same types
    if any(r and r[0] in (1, 4) for log in built_logs for r in log):  # accepted or filled orders
        assert taken > 0, "the default broker must take order events on the record path"


def test_record_path_over_the_fast_seeds_when_counted_then_most_order_events_skip_building() -> None:
    # Not vacuous: across the seeds above, the default broker really takes the record path.
    seen = 0
    for seed in range(5):
        _, logs = _run(seed, FinbotBroker, {})
        seen += sum(1 for log in logs for r in log if r and r[0] in (1, 4))
    assert seen > 0


# ---------------------------------------------------------------- the bus and the simulator
def _record_bus() -> tuple[EventBus, list[Any], list[Any]]:
    bus = EventBus()
    built: list[Any] = []
    raw: list[Any] = []

    def listener(event: ExecutionEvent) -> None:
        built.append(event)

    bus.set_record_listener(listener, lambda *args: raw.append(args))
    return bus, built, raw


def _working() -> Any:
    sim = ExecutionSimulator(Decimal(100_000), seed=1)
    sim.submit_order(order(order_id="a"), T0)
    return sim.book.working["a"]


def test_event_bus_when_record_listener_alone_then_order_events_are_not_built() -> None:
    bus, built, raw = _record_bus()
    working = _working()
    working.snapshot = None  # the order is built only if someone reads it
    assert bus.emit_order(OrderAccepted, working, timestamp=T0) is None
    assert built == [] and raw == [(OrderAccepted, 1, working, {"timestamp": T0})]
    assert working.snapshot is None, "the record path must not build the Order"


def test_event_bus_when_another_listener_or_a_collection_then_order_events_are_built_for_all() -> None:
    bus, built, raw = _record_bus()
    working = _working()
    other: list[Any] = []
    bus.listeners.append(other.append)
    event = bus.emit_order(OrderSubmitted, working, timestamp=T0)
    assert built == [event] == other and raw == []
    assert event == OrderSubmitted(sequence=1, timestamp=T0, order=working.order)
    bus.listeners.remove(other.append)
    collected: list[ExecutionEvent] = []
    bus.start_collecting(collected)
    event = bus.emit_order(OrderAccepted, working, timestamp=T0)
    assert collected == [event] and built[-1] is event and raw == []


def test_simulator_when_record_listener_removed_then_no_record_path_is_left() -> None:
    sim = ExecutionSimulator(Decimal(100_000), seed=1)
    built: list[Any] = []
    raw: list[Any] = []
    sim.add_record_listener(built.append, lambda *args: raw.append(args))
    sim.submit_order(order(order_id="a"), T0)
    assert [a[0] for a in raw] == [OrderSubmitted, OrderAccepted] and built == []
    sim.remove_listener(built.append)
    assert sim.events.record_pairs == [] and sim.events.listeners == []
    sim.submit_order(order(order_id="b"), T0)
    assert len(raw) == 2


def test_simulator_when_process_market_data_collects_then_the_record_listener_gets_built_events() -> None:
    sim = ExecutionSimulator(Decimal(100_000), seed=1)
    built: list[Any] = []
    raw: list[Any] = []
    sim.add_record_listener(built.append, lambda *args: raw.append(args))
    sim.submit_order(order(order_id="a"), T0)
    events = sim.process_market_data(T0 + DAY, {"SPY": bar(100, 101, 99, 100, T0 + DAY)})
    assert [type(e) for e in events] == [OrderFilled] and built == events
    sim.submit_order(order("sell", order_id="b"), T0 + DAY)
    sim.step_market_data(T0 + 2 * DAY, {"SPY": bar(100, 101, 99, 100, T0 + 2 * DAY)})  # not collected: the record path again
    assert [a[0] for a in raw] == [OrderSubmitted, OrderAccepted, OrderSubmitted, OrderAccepted, OrderFilled]
    assert sim.get_order("b").status.value == "filled" and sim.get_position("SPY").quantity == 0


# ---------------------------------------------------------------- the working record
def test_working_record_when_changed_then_the_order_is_rebuilt_once_and_matches_its_values() -> None:
    sim = ExecutionSimulator(Decimal(100_000), seed=1, latency="normal")
    sim.submit_order(order(order_id="a", quantity=10), T0)
    working = sim.book.working["a"]
    first = working.order
    assert working.order is first, "kept until the next change"
    sim.process_market_data(T0 + DAY, {"SPY": bar(100, 101, 99, 100, T0 + DAY)})
    current = sim.get_order("a")
    assert current is not first and current.status is not first.status
    values = dict(zip([f.name for f in fields(Order) if f.name != "executions"], working.order_values(), strict=True))
    assert values == {f.name: getattr(current, f.name) for f in fields(Order) if f.name != "executions"}
    assert working.executions == current.executions


def test_order_book_update_when_field_is_not_a_changing_one_then_type_error_and_nothing_changes() -> None:
    sim = ExecutionSimulator(Decimal(100_000), seed=1)
    sim.submit_order(order(order_id="a", quantity=10), T0)
    working = sim.book.working["a"]
    before = working.order
    with pytest.raises(TypeError, match="symbol"):
        sim.book.update(working, symbol="QQQ", status=before.status)
    assert working.order is before and sim.get_order("a") == before
