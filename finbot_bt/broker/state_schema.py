"""Schema of the FinbotBroker state stored in a checkpoint's ``metadata["broker"]``.

Every field the broker writes (see :func:`finbot_bt.broker.persistence.broker_state`)
is validated here with strict pydantic models before a resume touches it, so
a missing, mistyped or impossible value is a CheckpointError naming the
field, never a KeyError deep in the resume. Floats are Backtrader's (dates
as Backtrader date numbers, sizes and prices as floats) and must be finite;
sizes of open orders are positive; order ids are unique and every reference
(open orders, notifications, OCO leaders) names a stored order.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from finbot_bt.contracts.checkpoint import IsoTime
from finbot_bt.errors import CheckpointError

_MAX = 1e15
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-_MAX, le=_MAX)]
NonNegative = Annotated[float, Field(allow_inf_nan=False, ge=0, le=_MAX)]
DateNumber = Annotated[float, Field(allow_inf_nan=False, ge=0, le=3_000_000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
InfoValue = bool | Annotated[str, StringConstraints(max_length=4096)] | int | Finite


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ExecutedRecord(_Model):
    """What a Backtrader order has executed so far (``order.executed``)."""

    dt: DateNumber | None
    size: Finite
    price: Finite
    value: Finite
    comm: Finite
    pnl: Finite
    psize: Finite
    pprice: Finite


class BacktraderOrderRecord(_Model):
    """A Backtrader order, enough to rebuild it (see ``describe_order``)."""

    core_id: Name
    symbol: Name
    buy: bool
    exectype: Annotated[int, Field(ge=0, le=7)]
    size: NonNegative
    price: NonNegative | None
    pricelimit: NonNegative | None
    trailamount: NonNegative | None
    trailpercent: NonNegative | None
    valid: DateNumber | None
    tradeid: Annotated[int, Field(ge=0, le=2**31)]
    created_dt: DateNumber
    status: Annotated[int, Field(ge=0, le=9)]
    parent_id: Name | None
    info: dict[Name, InfoValue]
    executed: ExecutedRecord


class PendingNotification(_Model):
    """A notification not yet delivered when the checkpoint was taken."""

    core_id: Name
    status: Annotated[int, Field(ge=0, le=9)]


class TradeRecord(_Model):
    """An open Backtrader trade of a running strategy."""

    strategy: Annotated[int, Field(ge=0, le=10_000)]
    strategy_class: Name
    symbol: Name
    tradeid: Annotated[int, Field(ge=0, le=2**31)]
    size: Finite
    price: Finite
    value: Finite
    commission: Finite
    pnl: Finite
    pnlcomm: Finite
    dtopen: DateNumber
    bars_open: Annotated[int, Field(ge=0, le=2**40)]


class BrokerState(_Model):
    """The Backtrader-side state of a FinbotBroker (``metadata["broker"]``)."""

    version: Literal[1]
    orders: list[BacktraderOrderRecord]
    open: list[Name]
    pending_notifications: list[PendingNotification]
    oco_leaders: dict[Name, Name | None]
    fundshares: Finite
    fundval: Finite
    startingcash: NonNegative
    # Absent in checkpoints written before the types were kept: the resume then uses floats.
    cash: int | Finite | None = None
    position_sizes: dict[Name, int | Finite] = Field(default_factory=dict)
    cash_additions: list[Finite]
    last_bar_times: dict[Name, IsoTime]
    trades: list[TradeRecord]

    @model_validator(mode="after")
    def _references(self) -> BrokerState:
        ids: set[str] = set()
        for order in self.orders:
            if order.core_id in ids:
                raise ValueError(f"orders: core_id {order.core_id!r} appears twice")
            ids.add(order.core_id)
        for name, refs in (("open", self.open), ("pending_notifications", [p.core_id for p in
                                                                           self.pending_notifications])):
            unknown = [r for r in refs if r not in ids]
            if unknown:
                raise ValueError(f"{name}: order {unknown[0]!r} is not among the stored orders")
        if len(set(self.open)) != len(self.open):
            raise ValueError("open: an order id appears twice")
        sizes = {order.core_id: order.size for order in self.orders}
        for core_id in self.open:
            if sizes[core_id] <= 0:
                raise ValueError(f"orders: open order {core_id!r} has size {sizes[core_id]}; it must be > 0")
        for member, leader in self.oco_leaders.items():
            if member not in ids or (leader is not None and leader not in ids):
                raise ValueError(f"oco_leaders: {member!r} -> {leader!r} names an order that is not stored")
        return self


def validate_broker_state(data: object) -> BrokerState:
    """Validate ``metadata["broker"]``; CheckpointError naming the first bad field."""
    if data is None:
        raise CheckpointError("the checkpoint holds no FinbotBroker state (metadata.broker is missing)")
    try:
        return BrokerState.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in ("metadata", "broker", *err["loc"]))
            parts.append(f"{where}: {err['msg']}")
        raise CheckpointError("FinbotBroker state is invalid: " + "; ".join(parts)) from None
    except RecursionError:
        raise CheckpointError("FinbotBroker state is nested too deeply") from None
