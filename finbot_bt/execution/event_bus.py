"""Numbering and delivery of the simulator's events (private to the execution layer).

Every event gets the next sequence number (1, 2, ...), is appended to the
list of the call being collected (``process_market_data`` returns it) and is
passed to each listener, in the order they were added.

An event nobody reads is numbered but never built. Listeners may also take
order events as *records* (``set_record_listener``): while every listener does
and no call collects, an order event is not built at all; each listener gets
the event's type, number, the order's working record and the other fields,
reads what it needs at once, and builds the event itself only if it must keep
it. Otherwise every listener gets the built event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.events import ExecutionEvent

EventListener = Callable[[ExecutionEvent], None]
RecordListener = Callable[[type[Any], int, Any, dict[str, Any]], None]
"""``(event_type, sequence, working, fields)``: an order event not built (see the module docstring)."""


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class EventBus:
    """Numbers events and hands them to the collector and the listeners."""

    __slots__ = ("collect", "listeners", "record_pairs", "sequence")

    def __init__(self) -> None:
        self.listeners: list[EventListener] = []
        self.collect: list[ExecutionEvent] | None = None
        self.sequence = 0  # number of the last event emitted
        # (listener, its record form), in the listeners' order; used while they are all the listeners.
        self.record_pairs: list[tuple[EventListener, RecordListener]] = []

    def emit(self, event_type: type[Any], **fields: Any) -> Any:
        """Build ``event_type(sequence=next, **fields)``, collect it and tell every listener.

        Without a collector and listeners the event only takes its number (it is not built)."""
        self.sequence += 1
        if self.collect is None and not self.listeners:
            return None  # nobody reads it: numbered, never built
        event = event_type(sequence=self.sequence, **fields)
        if self.collect is not None:
            self.collect.append(event)
        for listener in self.listeners:
            listener(event)
        return event

    def emit_order(self, event_type: type[Any], working: Any, **fields: Any) -> Any:
        """Emit an order event of ``working`` (a ``WorkingOrder``): ``event_type(sequence, order=working.order, **fields)``.

        While every listener takes records, they get the record instead and nothing is built."""
        self.sequence += 1
        listeners = self.listeners
        if self.collect is None:
            if not listeners:
                return None
            if self.all_take_records():
                sequence = self.sequence
                for _, record in self.record_pairs:
                    record(event_type, sequence, working, fields)
                return None
        event = event_type(sequence=self.sequence, order=working.order, **fields)
        if self.collect is not None:
            self.collect.append(event)
        for listener in listeners:
            listener(event)
        return event

    def all_take_records(self) -> bool:
        """True if every listener has a record form (they were all added by :meth:`set_record_listener`)."""
        listeners, pairs = self.listeners, self.record_pairs
        if len(pairs) != len(listeners):
            return False
        return all(pair[0] is listeners[i] for i, pair in enumerate(pairs))

    def set_record_listener(self, listener: EventListener, record: RecordListener) -> None:
        """Add ``listener``, which can also take order events as records (``record``; see the module docstring)."""
        self.listeners.append(listener)
        self.record_pairs.append((listener, record))

    def remove_listener(self, listener: EventListener) -> None:
        """Stop calling ``listener`` (and its record form)."""
        self.listeners.remove(listener)
        self.record_pairs = [pair for pair in self.record_pairs if pair[0] != listener]

    def start_collecting(self, collected: list[ExecutionEvent]) -> list[ExecutionEvent] | None:
        """Collect the next events into ``collected``; returns the outer collection, for :meth:`stop_collecting`."""
        outer = self.collect
        self.collect = collected
        return outer

    def stop_collecting(self, outer: list[ExecutionEvent] | None, collected: list[ExecutionEvent]) -> None:
        """Back to the ``outer`` collection (a call nested in another), which gets ``collected`` too."""
        self.collect = outer
        if outer is not None:
            outer.extend(collected)
