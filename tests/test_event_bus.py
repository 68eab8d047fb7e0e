"""EventBus: numbering, collection and listeners."""

from __future__ import annotations

from finbot_bt.contracts import ExecutionEvent, TradingState, TradingStateChanged
from finbot_bt.execution.event_bus import EventBus
from tests.factories import T0


def _emit(bus: EventBus) -> ExecutionEvent:
    return bus.emit(TradingStateChanged, timestamp=T0, previous=TradingState.ACTIVE, state=TradingState.HALTED,
                    reason="test")  # type: ignore[no-any-return]


def test_event_bus_when_events_emitted_then_numbered_from_one_and_heard_in_listener_order() -> None:
    bus = EventBus()
    heard: list[tuple[str, int]] = []
    bus.listeners.append(lambda e: heard.append(("first", e.sequence)))
    bus.listeners.append(lambda e: heard.append(("second", e.sequence)))
    assert [_emit(bus).sequence for _ in range(2)] == [1, 2]
    assert heard == [("first", 1), ("second", 1), ("first", 2), ("second", 2)]
    assert bus.sequence == 2


def test_event_bus_when_collecting_then_events_are_appended_to_the_collection() -> None:
    bus = EventBus()
    _emit(bus)
    collected: list[ExecutionEvent] = []
    bus.collect = collected
    event = _emit(bus)
    assert collected == [event] and event.sequence == 2


def test_event_bus_when_collections_nest_then_the_outer_one_gets_the_inner_events_too() -> None:
    bus = EventBus()
    outer: list[ExecutionEvent] = []
    inner: list[ExecutionEvent] = []
    assert bus.start_collecting(outer) is None
    first = _emit(bus)
    previous = bus.start_collecting(inner)
    second = _emit(bus)
    bus.stop_collecting(previous, inner)
    assert inner == [second] and outer == [first, second] and bus.collect is outer
    bus.stop_collecting(None, outer)
    assert bus.collect is None


def test_event_bus_when_nobody_reads_then_the_event_is_numbered_but_not_built() -> None:
    bus = EventBus()
    assert bus.emit(TradingStateChanged, timestamp=T0, previous=TradingState.ACTIVE, state=TradingState.HALTED,
                    reason="unheard") is None
    heard: list[ExecutionEvent] = []
    bus.listeners.append(heard.append)
    event = _emit(bus)
    assert heard == [event] and event.sequence == 2 and bus.sequence == 2
