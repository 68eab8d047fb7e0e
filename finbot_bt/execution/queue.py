"""Time-ordered queue of pending actions (the latency mechanism).

A binary heap keyed by ``(due_time, sequence)``: push and pop are O(log n),
and actions due at the same instant come out first in, first out. The
sequence counter is part of the queue's state so that a restored queue keeps
ordering ties exactly as the original would have.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ActionKind(StrEnum):
    """What a pending action does when it comes due."""

    SUBMIT = "submit"
    FILL_REPORT = "fill_report"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingAction:
    """One action due at ``due_time``; ``payload`` is JSON-friendly data."""

    due_time: datetime
    sequence: int
    kind: ActionKind
    order_id: str
    payload: Any = None


def _slot_setter(name: str) -> Callable[[PendingAction, Any], None]:
    setter: Callable[[PendingAction, Any], None] = vars(PendingAction)[name].__set__
    return setter


_new_action = object.__new__
_set_due = _slot_setter("due_time")
_set_sequence = _slot_setter("sequence")
_set_kind = _slot_setter("kind")
_set_order_id = _slot_setter("order_id")
_set_payload = _slot_setter("payload")


class PendingActionQueue:
    """A min-heap of :class:`PendingAction` ordered by (due time, sequence)."""

    __slots__ = ("_heap", "_sequence")

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, PendingAction]] = []
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._heap)

    def __iter__(self) -> Iterator[PendingAction]:
        """Iterate in due order (does not consume)."""
        return (entry[2] for entry in sorted(self._heap))

    @property
    def next_sequence(self) -> int:
        """Sequence number the next added action will get."""
        return self._sequence

    def add_action(
        self, due_time: datetime, kind: ActionKind, order_id: str, payload: Any = None
    ) -> PendingAction:
        """Queue an action; O(log n)."""
        sequence = self._sequence
        # Built without the dataclass __init__ (a third of the cost of a push); the
        # fields come from the simulator, and nothing here is validated anyway.
        action = _new_action(PendingAction)
        _set_due(action, due_time)
        _set_sequence(action, sequence)
        _set_kind(action, kind)
        _set_order_id(action, order_id)
        _set_payload(action, payload)
        self._sequence = sequence + 1
        heapq.heappush(self._heap, (due_time, sequence, action))
        return action

    def peek_time(self) -> datetime | None:
        """Due time of the earliest action, or None when empty."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, until: datetime) -> PendingAction | None:
        """Remove and return the earliest action due at or before ``until``."""
        heap = self._heap
        if heap and heap[0][0] <= until:
            return heapq.heappop(heap)[2]
        return None

    def process_until(self, until: datetime) -> list[PendingAction]:
        """Remove and return, in order, every action due at or before ``until``."""
        out: list[PendingAction] = []
        heap = self._heap
        while heap and heap[0][0] <= until:
            out.append(heapq.heappop(heap)[2])
        return out

    def restore(self, actions: list[PendingAction], next_sequence: int) -> None:
        """Replace the content with ``actions`` (from a checkpoint)."""
        self._heap = [(a.due_time, a.sequence, a) for a in actions]
        heapq.heapify(self._heap)
        self._sequence = next_sequence
