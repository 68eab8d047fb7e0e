"""The broker's event log (``broker.events``): every core event of a run, kept as plain values.

Kept as the event objects themselves, a run's log is hundreds of thousands of
objects (events, ``Order`` snapshots, their executions) that the garbage
collector walks at every full collection until the run ends, and their
allocation brings those collections sooner. Here the events' field values
(str, int, Decimal, datetime, None and enum members, which are never
collected) lie end to end in one list; an event's order and executions are
flattened into it. Recording an event allocates nothing the collector tracks.

The log reads as a ``Sequence[ExecutionEvent]``: indexing, slicing and
iteration rebuild events equal (``==``) to the ones recorded, so
``isinstance(e, OrderRejected)`` filters work as on a list. Events of a type it
does not know (a subclass) are kept as they are. :meth:`EventLog.of_type`
rebuilds only the events of the kinds asked for; :meth:`EventLog.counts` counts
kinds without rebuilding anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import MISSING, fields
from operator import attrgetter, itemgetter
from typing import Any, ClassVar, TypeVar, overload

from finbot_bt.contracts.events import (
    CancelRejected,
    ExecutionEvent,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RiskLimitBreached,
    TradingStateChanged,
)
from finbot_bt.contracts.orders import Order, OrderExecution

Record = tuple[Any, ...]
"""One stored event, as :meth:`EventLog.records` gives it (layout below)."""

E = TypeVar("E", bound=ExecutionEvent)

# A record is ``(kind, ...the event's own fields)``: its fields in their order except ``order`` and
# ``execution``, then for a fill the execution's 8 fields, then for an order event the order's fields
# except ``executions`` (24), the number of executions and 8 values per execution.
KINDS: tuple[type[ExecutionEvent], ...] = (OrderSubmitted, OrderAccepted, OrderExpired, OrderRejected, OrderFilled,
                                           OrderCancelled, CancelRejected, TradingStateChanged, RiskLimitBreached)
"""The event types stored as values; a record's ``kind`` is the index of its type here."""
SUBMITTED, ACCEPTED, EXPIRED, REJECTED, FILLED, CANCELLED, CANCEL_REJECTED, STATE_CHANGED, BREACHED = range(9)
_KIND = {cls: kind for kind, cls in enumerate(KINDS)}
_OWN = tuple(tuple(f.name for f in fields(cls) if f.name not in ("order", "execution")) for cls in KINDS)
ORDER_AT = tuple(1 + len(own) + (8 if cls is OrderFilled else 0) for cls, own in zip(KINDS, _OWN, strict=True))
"""Where the order starts in a record, by kind (none for the last two; optional for ``CancelRejected``)."""

_ORDER_FIELDS = tuple(f.name for f in fields(Order))
_EXECUTIONS_AT = _ORDER_FIELDS.index("executions")
_ORDER_SIZE = len(_ORDER_FIELDS)  # the fields but executions, plus their count
_EXECUTION_SIZE = len(fields(OrderExecution))
_own_values = tuple(attrgetter(*own) for own in _OWN)
_order_values = attrgetter(*(name for name in _ORDER_FIELDS if name != "executions"))
_execution_values = attrgetter(*(f.name for f in fields(OrderExecution)))


def positions(kind: int) -> dict[str, int]:
    """Where each field lies in a record of ``kind``: ``"timestamp"``, ``"execution.price"``, ``"order.symbol"``..."""
    out = {name: 1 + i for i, name in enumerate(_OWN[kind])}
    start = 1 + len(_OWN[kind])
    if KINDS[kind] is OrderFilled:
        out.update({f"execution.{f.name}": start + i for i, f in enumerate(fields(OrderExecution))})
    order = [name for name in _ORDER_FIELDS if name != "executions"]
    out.update({f"order.{name}": ORDER_AT[kind] + i for i, name in enumerate(order)})
    return out


def _unchecked(cls: type[Any]) -> Callable[[Sequence[Any]], Any]:
    """Build a frozen slotted dataclass from its field values without re-running validation.

    The values were read from an instance that passed it, so the rebuilt value is
    that instance's equal (as ``trusted_execution`` and ``evolve_order`` build them).
    """
    setters = tuple(getattr(cls, f.name).__set__ for f in fields(cls))
    new = object.__new__

    def build(values: Sequence[Any]) -> Any:
        obj = new(cls)
        for setter, value in zip(setters, values, strict=True):
            setter(obj, value)
        return obj

    return build


_DEFAULTS = tuple({f.name: f.default for f in fields(cls) if f.default is not MISSING} for cls in KINDS)


# An order event's own fields after ``timestamp`` and ``sequence``, read from the fields it was emitted with.
_REST = tuple(itemgetter(*own[2:]) if len(own) > 2 else None for own in _OWN)
assert all(own[:2] == ("timestamp", "sequence") for own in _OWN)


_build_execution = _unchecked(OrderExecution)
_build_order = _unchecked(Order)
_BUILD = tuple(_unchecked(cls) for cls in KINDS)


def _order(r: Record, i: int) -> Order:
    """The order stored from position ``i`` of record ``r``."""
    end = i + _ORDER_SIZE
    executions = tuple(_build_execution(r[start:start + _EXECUTION_SIZE])
                       for start in range(end, end + _EXECUTION_SIZE * r[end - 1], _EXECUTION_SIZE))
    split = i + _EXECUTIONS_AT
    order: Order = _build_order((*r[i:split], executions, *r[split:end - 1]))
    return order


def rebuild(record: Record) -> ExecutionEvent:
    """The event a stored record was made from (an event kept as itself, ``(event,)``, is returned as is)."""
    kind = record[0]
    if type(kind) is not int:
        assert isinstance(kind, ExecutionEvent)
        return kind
    r = record
    if kind <= EXPIRED:
        values: tuple[Any, ...] = (r[1], r[2], _order(r, 3))
    elif kind == REJECTED:
        values = (r[1], r[2], _order(r, 5), r[3], r[4])
    elif kind == FILLED:
        values = (r[1], r[2], _order(r, 18), _build_execution(r[10:18]), *r[3:10])
    elif kind == CANCELLED:
        values = (r[1], r[2], _order(r, 4), r[3])
    elif kind == CANCEL_REJECTED:
        values = (*r[1:6], _order(r, 6) if len(r) > 6 else None)
    else:
        values = r[1:6]
    event: ExecutionEvent = _BUILD[kind](values)
    return event


class EventLog(Sequence[ExecutionEvent]):
    """A read-only sequence of execution events stored as plain values; :meth:`append` records one.

    The records lie end to end in one list of values (``_ends[i]`` is where record ``i`` ends).
    """

    __slots__ = ("_ends", "_foreign", "_values")
    __hash__: ClassVar[None]  # type: ignore[assignment]

    def __init__(self, events: Iterable[ExecutionEvent] = ()) -> None:
        self._values: list[Any] = []
        self._ends: list[int] = []
        self._foreign = 0  # events kept as they are
        for event in events:
            self.append(event)

    def append(self, event: ExecutionEvent) -> None:
        """Record ``event`` (its values; an event of an unknown type is kept as it is)."""
        values = self._values
        kind = _KIND.get(type(event))
        if kind is None:
            values.append(event)
            self._foreign += 1
        else:
            values.append(kind)
            values.extend(_own_values[kind](event))
            if kind < STATE_CHANGED:
                if kind == FILLED:
                    values.extend(_execution_values(event.execution))  # type: ignore[attr-defined]
                order = event.order  # type: ignore[attr-defined]
                if order is not None:
                    values.extend(_order_values(order))
                    executions = order.executions
                    values.append(len(executions))
                    for execution in executions:
                        values.extend(_execution_values(execution))
        self._ends.append(len(values))

    def append_record(self, event_type: type[Any], sequence: int, working: Any,
                      event_fields: dict[str, Any]) -> None:
        """Record the order event ``event_type(sequence=sequence, order=working.order, **event_fields)``
        without building it (a simulator record listener's arguments: ``working`` gives
        ``order_values()`` and ``executions``). Stored exactly as :meth:`append` stores the built event."""
        kind = _KIND.get(event_type)
        if kind is None or kind >= CANCEL_REJECTED:
            self.append(event_type(sequence=sequence, order=working.order, **event_fields))
            return
        values = self._values
        values.append(kind)
        values.append(event_fields["timestamp"])
        values.append(sequence)
        rest = _REST[kind]
        if rest:
            try:
                own = rest(event_fields)
            except KeyError:  # a field left to its default
                defaults = _DEFAULTS[kind]
                own = tuple(event_fields[name] if name in event_fields else defaults[name]
                            for name in _OWN[kind][2:])
            if len(_OWN[kind]) == 3:
                values.append(own)
            else:
                values.extend(own)
        if kind == FILLED:
            values.extend(_execution_values(event_fields["execution"]))
        values.extend(working.order_values())
        executions = working.executions
        values.append(len(executions))
        for execution in executions:
            values.extend(_execution_values(execution))
        self._ends.append(len(values))

    def _record(self, index: int) -> Record:
        ends = self._ends
        return tuple(self._values[ends[index - 1] if index else 0:ends[index]])

    def _records(self) -> Iterator[Record]:
        values, start = self._values, 0
        for end in self._ends:
            yield tuple(values[start:end])
            start = end

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> ExecutionEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[ExecutionEvent]: ...

    def __getitem__(self, index: int | slice) -> ExecutionEvent | list[ExecutionEvent]:
        if isinstance(index, slice):
            return [rebuild(self._record(i)) for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("event log index out of range")
        return rebuild(self._record(index))

    def __iter__(self) -> Iterator[ExecutionEvent]:
        return map(rebuild, self._records())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventLog):
            return self._ends == other._ends and self._values == other._values
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __repr__(self) -> str:
        return f"EventLog({len(self)} events)"

    def of_type(self, *types: type[E]) -> Iterator[E]:
        """The events that are instances of ``types``, rebuilding only those."""
        kinds = {kind for kind, cls in enumerate(KINDS) if issubclass(cls, types)}
        for record in self._records():
            kind = record[0]
            if kind in kinds if type(kind) is int else isinstance(kind, types):
                yield rebuild(record)  # type: ignore[misc]

    def counts(self) -> dict[str, int]:
        """How many events of each kind (type name), in the order each kind first appeared."""
        counts: dict[str, int] = {}
        values, start = self._values, 0
        for end in self._ends:
            kind = values[start]
            start = end
            name = KINDS[kind].__name__ if type(kind) is int else type(kind).__name__
            counts[name] = counts.get(name, 0) + 1
        return counts

    def records_of(self, *kinds: int) -> Iterator[Record] | None:
        """The records of ``kinds``; None if the log also keeps events of unknown types (read those as events)."""
        if self._foreign:
            return None
        return (record for record in self._records() if record[0] in kinds)

    def records(self) -> list[Record]:
        """The stored records, as tuples (an event of an unknown type as ``(event,)``)."""
        return list(self._records())


assert ORDER_AT[:CANCEL_REJECTED + 1] == (3, 3, 3, 5, 18, 4, 6), ORDER_AT  # the positions rebuild() reads
assert _OWN[STATE_CHANGED][2:] == ("previous", "state", "reason") and len(_OWN[BREACHED]) == 5

__all__ = ["KINDS", "ORDER_AT", "EventLog", "Record", "positions", "rebuild"]
