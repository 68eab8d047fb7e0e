"""Time-ordered queue of pending actions (the latency mechanism).

Actions come out by ``(due_time, sequence)``: earliest first, and actions due
at the same instant first in, first out. The sequence counter is part of the
queue's state so that a restored queue keeps ordering ties exactly as the
original would have.

Structure: one FIFO lane per action kind plus a binary heap. The simulator's
clock only moves forward and a latency leg is usually constant (submission and
cancel latency) or ahead of everything queued before it (fill reports of a later
bar), so most actions are due no earlier than the last action of their kind:
they are appended to that kind's lane, which stays sorted, in O(1) and touching
only the ends of the lane. An action due earlier than its lane's tail goes to
the heap (O(log n)). Popping takes the smallest of the lane heads and the heap
top. The order is exactly that of one heap over every action; only the cost
differs: constant per operation for in-order streams, however many actions are
pending, instead of a heap's cache-missing O(log n).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mypy_extensions import mypyc_attr


class ActionKind(StrEnum):
    """What a pending action does when it comes due."""

    SUBMIT = "submit"
    FILL_REPORT = "fill_report"
    CANCEL = "cancel"


@mypyc_attr(native_class=False)  # compiled, a native class refuses the object.__new__ below
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


_Entry = tuple[datetime, int, PendingAction]


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class PendingActionQueue:
    """Pending actions ordered by (due time, sequence); see the module docstring."""

    __slots__ = ("_heap", "_lane_of", "_lanes", "_sequence")

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._lanes: tuple[deque[_Entry], ...] = tuple(deque() for _ in ActionKind)
        self._lane_of: dict[ActionKind, deque[_Entry]] = dict(zip(ActionKind, self._lanes, strict=True))
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._heap) + sum(len(lane) for lane in self._lanes)

    def __bool__(self) -> bool:
        """True while any action is pending (without counting them)."""
        return bool(self._heap) or any(self._lanes)

    def skip_sequence(self) -> None:
        """Consume one sequence number without queueing (an action delivered at once)."""
        self._sequence += 1

    def __iter__(self) -> Iterator[PendingAction]:
        """Iterate in due order (does not consume)."""
        entries = list(self._heap)
        for lane in self._lanes:
            entries.extend(lane)
        return (entry[2] for entry in sorted(entries))

    @property
    def next_sequence(self) -> int:
        """Sequence number the next added action will get."""
        return self._sequence

    def add_action(
        self, due_time: datetime, kind: ActionKind, order_id: str, payload: Any = None
    ) -> PendingAction:
        """Queue an action: O(1) if due no earlier than the last queued action of its kind."""
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
        entry = (due_time, sequence, action)
        lane = self._lane_of[kind]
        if not lane or lane[-1][0] <= due_time:
            lane.append(entry)  # sorted: later due time, or equal with a larger sequence
        else:
            heapq.heappush(self._heap, entry)
        return action

    def _head(self) -> tuple[_Entry | None, deque[_Entry] | None]:
        heap = self._heap
        best = heap[0] if heap else None
        source = None
        for lane in self._lanes:
            if lane and (best is None or lane[0] < best):
                best = lane[0]
                source = lane
        return best, source

    def peek_time(self) -> datetime | None:
        """Due time of the earliest action, or None when empty."""
        best, _ = self._head()
        return best[0] if best is not None else None

    def pop_due(self, until: datetime) -> PendingAction | None:
        """Remove and return the earliest action due at or before ``until``."""
        # _head() inlined: this runs once per action and once more per drain.
        heap = self._heap
        best = heap[0] if heap else None
        source = None
        for lane in self._lanes:
            if lane:
                head = lane[0]
                if best is None or head < best:
                    best = head
                    source = lane
        if best is None or best[0] > until:
            return None
        if source is None:
            heapq.heappop(heap)
        else:
            source.popleft()
        return best[2]

    def process_until(self, until: datetime) -> list[PendingAction]:
        """Remove and return, in order, every action due at or before ``until``."""
        out: list[PendingAction] = []
        while (action := self.pop_due(until)) is not None:
            out.append(action)
        return out

    def restore(self, actions: list[PendingAction], next_sequence: int) -> None:
        """Replace the content with ``actions`` (from a checkpoint)."""
        for lane in self._lanes:
            lane.clear()
        self._heap = []
        # In (due, sequence) order every action lands at the end of its kind's lane.
        for action in sorted(actions, key=lambda a: (a.due_time, a.sequence)):
            self._lane_of[action.kind].append((action.due_time, action.sequence, action))
        self._sequence = next_sequence
