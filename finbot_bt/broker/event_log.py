"""The broker's event log (``broker.events``): every core event of a run, kept as plain values.

Kept as the event objects themselves, a run's log is hundreds of thousands of
objects (events, ``Order`` snapshots, their executions) that the garbage
collector walks at every full collection until the run ends. Here each event
is stored as a tuple of plain values (str, int, Decimal, datetime, None; enums
as their values, the order and its executions as nested tuples), which CPython
stops tracking at the first collection that sees them.

The log reads as a ``Sequence[ExecutionEvent]``: indexing, slicing and
iteration rebuild events equal (``==``) to the ones recorded, so
``isinstance(e, OrderRejected)`` filters work as on a list. Events of a type it
does not know (a subclass) are kept as they are. :meth:`EventLog.of_type`
rebuilds only the events of the kinds asked for; :meth:`EventLog.counts` counts
kinds without rebuilding anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields
from enum import Enum
from itertools import chain
from typing import Any, ClassVar, TypeVar, overload

from finbot_bt.contracts.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    RejectionReason,
    TimeInForce,
    TradingState,
)
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
"""One stored event: ``(kind, timestamp, sequence, ...the event's other fields in their order)``."""

E = TypeVar("E", bound=ExecutionEvent)


# ---------------------------------------------------------------------------- values in
# A record is one flat tuple (a tuple nested in a tuple would be untracked one collection later than its
# content): ``(kind, timestamp, sequence, ...the kind's own fields)``, then for an order event the order's
# 25 fields (``executions`` replaced by their count) followed by 8 values per execution.
def _flat_execution(x: OrderExecution) -> Record:
    return (x.execution_id, x.quantity, x.price, x.commission, x.slippage, x.timestamp, x.liquidity._value_,
            x.reported_at)


def _flat_order(o: Order) -> Record:
    """The order's fields in their order, enums as values, the number of executions for ``executions``."""
    reason = o.rejection_reason
    return (o.order_id, o.symbol, o.side._value_, o.order_type._value_, o.quantity, o.limit_price, o.stop_price,
            o.trail_amount, o.trail_percent, o.time_in_force._value_, o.expire_at, o.status._value_,
            o.filled_quantity, o.avg_fill_price, len(o.executions), o.created_at, o.submitted_at, o.accepted_at,
            o.filled_at, o.cancelled_at, None if reason is None else reason._value_, o.rejection_message,
            o.oco_group, o.parent_id, o.version)


# Positions in a stored order (from the order's offset in its record) and in a stored execution.
O_ID, O_SYMBOL, O_SIDE, O_TYPE, O_QUANTITY, O_TIF, O_STATUS, O_FILLED, O_AVG, O_EXECUTIONS = 0, 1, 2, 3, 4, 9, 11, 12, 13, 14
O_LIMIT, O_STOP, O_SUBMITTED, O_ACCEPTED, O_REJECTION, ORDER_SIZE, EXECUTION_SIZE = 5, 6, 16, 17, 20, 25, 8


# ---------------------------------------------------------------------------- values out
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


def _members(enum: type[Enum]) -> dict[Any, Any]:
    return {member.value: member for member in enum}


_build_execution = _unchecked(OrderExecution)
_build_order = _unchecked(Order)
_LIQUIDITY = _members(LiquiditySide)
_SIDE, _TYPE, _TIF, _STATUS = _members(OrderSide), _members(OrderType), _members(TimeInForce), _members(OrderStatus)
_REASON, _STATE = _members(RejectionReason), _members(TradingState)


def _execution(r: Record, i: int) -> OrderExecution:
    execution: OrderExecution = _build_execution(
        (r[i], r[i + 1], r[i + 2], r[i + 3], r[i + 4], r[i + 5], _LIQUIDITY[r[i + 6]], r[i + 7]))
    return execution


def _order(r: Record, i: int) -> Order:
    """The order stored from position ``i`` of record ``r`` (its executions after its fields)."""
    reason = r[i + 20]
    start = i + ORDER_SIZE
    executions = tuple(_execution(r, start + EXECUTION_SIZE * n) for n in range(r[i + 14]))
    order: Order = _build_order(
        (r[i], r[i + 1], _SIDE[r[i + 2]], _TYPE[r[i + 3]], r[i + 4], r[i + 5], r[i + 6], r[i + 7], r[i + 8],
         _TIF[r[i + 9]], r[i + 10], _STATUS[r[i + 11]], r[i + 12], r[i + 13], executions, r[i + 15], r[i + 16],
         r[i + 17], r[i + 18], r[i + 19], None if reason is None else _REASON[reason], r[i + 21], r[i + 22],
         r[i + 23], r[i + 24]))
    return order


_OF_ORDER: tuple[type[ExecutionEvent], ...] = (OrderSubmitted, OrderAccepted, OrderExpired)
KINDS: tuple[type[ExecutionEvent], ...] = (*_OF_ORDER, OrderRejected, OrderFilled, OrderCancelled, CancelRejected,
                                           TradingStateChanged, RiskLimitBreached)
"""The event types stored as values; a record's ``kind`` is the index of its type here."""
_KIND = {cls: kind for kind, cls in enumerate(KINDS)}
SUBMITTED, ACCEPTED, EXPIRED, REJECTED, FILLED, CANCELLED, CANCEL_REJECTED, STATE_CHANGED, BREACHED = range(9)
ORDER_AT = (3, 3, 3, 5, 18, 4, 6, None, None)
"""Where the order starts in a record, by kind (a ``CancelRejected`` record may end before it: no order)."""
_BUILD = tuple(_unchecked(cls) for cls in KINDS)


def _values(r: Record) -> tuple[Any, ...]:
    """The event's field values, in their order, from its record."""
    kind = r[0]
    if kind <= EXPIRED:
        return r[1], r[2], _order(r, 3)
    if kind == REJECTED:
        return r[1], r[2], _order(r, 5), _REASON[r[3]], r[4]
    if kind == FILLED:
        return (r[1], r[2], _order(r, 18), _execution(r, 3), *r[11:18])
    if kind == CANCELLED:
        return r[1], r[2], _order(r, 4), r[3]
    if kind == CANCEL_REJECTED:
        return r[1], r[2], r[3], _REASON[r[4]], r[5], _order(r, 6) if len(r) > 6 else None
    if kind == STATE_CHANGED:
        return r[1], r[2], _STATE[r[3]], _STATE[r[4]], r[5]
    return r[1], r[2], r[3], _REASON[r[4]], r[5]


def rebuild(record: Record) -> ExecutionEvent:
    """The event a stored record was made from (an event kept as itself, ``(event,)``, is returned as is)."""
    kind = record[0]
    if type(kind) is not int:
        assert isinstance(kind, ExecutionEvent)
        return kind
    event: ExecutionEvent = _BUILD[kind](_values(record))
    return event


# ---------------------------------------------------------------------------- the log
class EventLog(Sequence[ExecutionEvent]):
    """A read-only sequence of execution events stored as plain values; :meth:`append` records one.

    The records lie end to end in one list of values (``_ends[i]`` is where record ``i`` ends), so
    recording an event allocates no object the collector tracks, not even a tuple.
    """

    __slots__ = ("_ends", "_executions", "_values")
    __hash__: ClassVar[None]  # type: ignore[assignment]

    def __init__(self, events: Iterable[ExecutionEvent] = ()) -> None:
        self._values: list[Any] = []
        self._ends: list[int] = []
        # Flat executions of the orders still open that have fills: (the order's executions tuple, values),
        # so an order filled in many parts is flattened once per fill, not once per fill per event.
        self._executions: dict[str, tuple[tuple[OrderExecution, ...], Record]] = {}
        for event in events:
            self.append(event)

    def append(self, event: ExecutionEvent) -> None:
        """Record ``event`` (its values; an event of an unknown type is kept as it is)."""
        kind = _KIND.get(type(event))
        values = self._values
        if kind is None:
            values.append(event)
        else:
            values.extend(_FLATTEN[kind](self, kind, event))
        self._ends.append(len(values))

    def _record(self, index: int) -> Record:
        ends = self._ends
        return tuple(self._values[ends[index - 1] if index else 0:ends[index]])

    def _records(self) -> Iterator[Record]:
        values, start = self._values, 0
        for end in self._ends:
            yield tuple(values[start:end])
            start = end

    def _order(self, order: Order) -> Record:
        executions = order.executions
        if not executions:
            return _flat_order(order)
        cache = self._executions
        cached = cache.get(order.order_id)
        if cached is not None and cached[0] is executions:
            flat = cached[1]
        elif cached is not None and len(executions) > len(cached[0]) and all(
                a is b for a, b in zip(cached[0], executions, strict=False)):
            flat = cached[1] + tuple(chain.from_iterable(map(_flat_execution, executions[len(cached[0]):])))
        else:
            flat = tuple(chain.from_iterable(map(_flat_execution, executions)))
        if order.status.is_open:
            cache[order.order_id] = (executions, flat)
        elif cached is not None:
            del cache[order.order_id]
        return _flat_order(order) + flat

    def _order_event(self, kind: int, e: Any) -> Record:  # submitted, accepted, expired
        return (kind, e.timestamp, e.sequence, *self._order(e.order))

    def _filled(self, kind: int, e: Any) -> Record:
        return (kind, e.timestamp, e.sequence, *_flat_execution(e.execution), e.closed_quantity, e.opened_quantity,
                e.realized_pnl, e.closed_commission, e.position_quantity, e.position_avg_price, e.requested_price,
                *self._order(e.order))

    def _rejected(self, kind: int, e: Any) -> Record:
        return (kind, e.timestamp, e.sequence, e.reason._value_, e.message, *self._order(e.order))

    def _cancelled(self, kind: int, e: Any) -> Record:
        return (kind, e.timestamp, e.sequence, e.reason, *self._order(e.order))

    def _cancel_rejected(self, kind: int, e: Any) -> Record:
        head = (kind, e.timestamp, e.sequence, e.order_id, e.reason._value_, e.message)
        return head if e.order is None else head + self._order(e.order)

    def _state_changed(self, kind: int, e: Any) -> Record:
        return (kind, e.timestamp, e.sequence, e.previous._value_, e.state._value_, e.reason)

    def _breached(self, kind: int, e: Any) -> Record:
        return (kind, e.timestamp, e.sequence, e.rule, e.reason._value_, e.message)

    # ------------------------------------------------------------------ reading
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

    def records(self) -> list[Record]:
        """The stored records, as tuples (an event of an unknown type as ``(event,)``)."""
        return list(self._records())


# How each kind is stored, by kind: the event's fields in their order, as plain values.
_FLATTEN: tuple[Callable[[EventLog, int, Any], Record], ...] = tuple({
    OrderSubmitted: EventLog._order_event, OrderAccepted: EventLog._order_event, OrderRejected: EventLog._rejected,
    OrderFilled: EventLog._filled, OrderCancelled: EventLog._cancelled, CancelRejected: EventLog._cancel_rejected,
    OrderExpired: EventLog._order_event, TradingStateChanged: EventLog._state_changed,
    RiskLimitBreached: EventLog._breached}[cls] for cls in KINDS)

__all__ = ["KINDS", "EventLog", "Record", "rebuild"]
