"""Numbering and delivery of the simulator's events (private to the execution layer).

Every event gets the next sequence number (1, 2, ...), is appended to the
list of the call being collected (``process_market_data`` returns it) and is
passed to each listener, in the order they were added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.events import ExecutionEvent

EventListener = Callable[[ExecutionEvent], None]


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class EventBus:
    """Numbers events and hands them to the collector and the listeners."""

    __slots__ = ("collect", "listeners", "sequence")

    def __init__(self) -> None:
        self.listeners: list[EventListener] = []
        self.collect: list[ExecutionEvent] | None = None
        self.sequence = 0  # number of the last event emitted

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
