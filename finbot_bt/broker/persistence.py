"""Checkpoint and resume for FinbotBroker.

A broker checkpoint is a core checkpoint (see
:mod:`finbot_bt.execution.checkpoint`) whose metadata also carries what only
the Backtrader side knows: the open Backtrader orders (to rebuild genuine
``bt.Order`` objects that keep working and notify the strategy), the
notifications not yet delivered, the fund figures, and each strategy's open
trades (so that a trade opened before the stop closes, with its full P&L, after
the resume instead of starting a new trade). Models bound to live
Backtrader objects (commission schemes, fillers) are stored as references and
re-bound to the resuming broker.

A resume restores the latest checkpoint, validates the broker state
(:mod:`finbot_bt.broker.state_schema`), makes the feeds skip the bars the
checkpoint already processed, and replays the journal tail: the bars after
the checkpoint re-run the strategy, and every event the simulator emits again
is checked against the journal (a difference is a CheckpointError), so the
Backtrader orders, notifications, positions and trades come back exactly as
they were before a crash, and the run goes on from there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

import backtrader as bt

from finbot_bt.broker.bars import BarFeeder
from finbot_bt.broker.convert import kept_type, to_float
from finbot_bt.broker.delivery import NotificationDelivery
from finbot_bt.broker.models import BacktraderCommission, BacktraderFillerCap
from finbot_bt.broker.orders import OrderRouter
from finbot_bt.broker.state_schema import validate_broker_state
from finbot_bt.broker.symbols import SymbolTable
from finbot_bt.broker.translate import core_time, is_daily
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.positions import Instrument
from finbot_bt.errors import CheckpointError, ConfigError
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.commission import CommissionModel
from finbot_bt.execution.fills import FillConfig, VolumeCap
from finbot_bt.execution.journal import JournalConfig, JournalPosition, JournalRead, read_tail
from finbot_bt.execution.model_registry import register_model
from finbot_bt.execution.recovery import recover
from finbot_bt.execution.simulator import ExecutionSimulator

BROKER_STATE_VERSION = 1
_T = TypeVar("_T")


class CheckpointedBroker(Protocol):
    """What a checkpoint saves of, and a resume restores into, a FinbotBroker."""

    p: Any
    sim: ExecutionSimulator
    cash: float
    startingcash: float
    positions: Any
    notifs: Any
    resumed: bool
    _router: OrderRouter
    _delivery: NotificationDelivery
    _bars: BarFeeder
    _symbols: SymbolTable
    _value: float
    _fundshares: float
    _fundval: float
    _cash_addition: Any
    _trades_to_restore: list[dict[str, Any]]

    def notify(self, order: Any) -> None: ...

    def _commission_model(self) -> CommissionModel: ...

    def _fill_config(self) -> FillConfig: ...


@register_model
@dataclass(frozen=True, slots=True, kw_only=True)
class BacktraderCommissionRef(CommissionModel):
    """Stands for "the resuming broker's Backtrader commission schemes" in a checkpoint."""

    def commission(self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool) -> Decimal:
        raise ConfigError("BacktraderCommissionRef must be re-bound to a FinbotBroker before use")


@register_model
@dataclass(frozen=True, slots=True, kw_only=True)
class BacktraderFillerRef(VolumeCap):
    """Stands for "the resuming broker's Backtrader filler" in a checkpoint."""

    def available(self, order: Order, remaining: Decimal, price: Decimal, bar: Bar, used: Decimal) -> Decimal:
        raise ConfigError("BacktraderFillerRef must be re-bound to a FinbotBroker before use")


def _storable(sim: ExecutionSimulator) -> tuple[CommissionModel, Any]:
    """Swap broker-bound models for references; return the originals to put back."""
    saved = (sim.commission, sim.fill)
    if isinstance(sim.commission, BacktraderCommission):
        sim.commission = BacktraderCommissionRef()
    if isinstance(sim.fill.volume_cap, BacktraderFillerCap):
        sim.fill = dataclasses.replace(sim.fill, volume_cap=BacktraderFillerRef())
    return saved


def describe_order(order: Any, core_id: str, symbol: str, parent_id: str | None) -> dict[str, Any]:
    """JSON description of a Backtrader order, enough to rebuild it."""
    created, executed = order.created, order.executed
    return {
        "core_id": core_id, "symbol": symbol, "buy": bool(order.isbuy()), "exectype": int(order.exectype),
        "size": abs(float(created.size)), "price": created.price, "pricelimit": created.pricelimit,
        "trailamount": order.trailamount, "trailpercent": order.trailpercent, "valid": order.valid,
        "tradeid": order.tradeid, "created_dt": created.dt, "status": int(order.status),
        "parent_id": parent_id, "info": {k: v for k, v in order.info.items() if isinstance(v, (str, int, float))},
        "executed": {"dt": executed.dt, "size": executed.size, "price": executed.price,
                     "value": executed.value, "comm": executed.comm, "pnl": executed.pnl,
                     "psize": executed.psize, "pprice": executed.pprice},
    }


def rebuild_order(desc: dict[str, Any], data: Any, parent: Any) -> Any:
    """A genuine ``bt.Order`` from :func:`describe_order`'s output (owner: the first strategy)."""
    cls = bt.BuyOrder if desc["buy"] else bt.SellOrder
    price = desc["price"]
    order = cls(owner=None, data=data, size=desc["size"], price=price, pricelimit=desc["pricelimit"],
                exectype=desc["exectype"], valid=None, tradeid=desc["tradeid"],
                trailamount=desc["trailamount"], trailpercent=desc["trailpercent"], parent=parent,
                simulated=True)
    # simulated=True only to build it before the feeds are loaded; strategies are not
    # notified of simulated orders, and this one must keep notifying.
    order.p.simulated = False
    order.valid = desc["valid"]  # an absolute date number (bt converts at creation)
    order.created.dt = desc["created_dt"]
    order.created.price = price
    order.created.pricelimit = desc["pricelimit"]
    order.addinfo(**desc["info"])
    ex = desc["executed"]
    if ex["size"]:
        order.executed.add(ex["dt"], ex["size"], ex["price"], 0, 0.0, 0.0, ex["size"], ex["value"], ex["comm"],
                           ex["pnl"], ex["psize"], ex["pprice"])
        order.executed.comm, order.executed.value, order.executed.pnl = ex["comm"], ex["value"], ex["pnl"]
        # These executions were notified before the checkpoint: not pending any more.
        order.executed.markpending()
        order.executed.markpending()
    order.status = desc["status"]
    return order


class BrokerCheckpointer:
    """Saves and restores one FinbotBroker's session under ``base_dir``.

    Construction locks the session (one writer per ``simulator_id``; a
    CheckpointError names the process holding it) and removes temporary files
    a crash left. :meth:`load` restores the latest checkpoint and reads the
    journal after it; :meth:`attach_journal` then checks every re-emitted
    event against that tail. Any failure to write (a full disk) closes the
    session and releases the lock, so that a resume can take over.
    """

    def __init__(self, base_dir: Path | str, simulator_id: str, keep_last: int | None = None,
                 *, key: bytes | str | None = None) -> None:
        self.manager = CheckpointManager(base_dir, keep_last=keep_last, key=key)
        self.simulator_id = simulator_id
        self.manager.acquire(simulator_id)
        self._tail: JournalRead | None = None
        self._last_bar_times: dict[str, datetime] = {}

    def has_checkpoint(self) -> bool:
        return bool(self.manager.list_checkpoints(self.simulator_id))

    def attach_journal(self, sim: ExecutionSimulator, config: JournalConfig | None = None,
                       *, resume: bool = False) -> None:
        """Journal ``sim``'s events; with ``resume``, first check the events already journaled after the
        restored state (the tail :meth:`load` read, or the whole journal when there was no checkpoint)."""
        tail = self._tail
        if tail is None and resume:
            folder = self.manager.simulator_dir(self.simulator_id)
            tail = read_tail(folder, JournalPosition(0, 0), key=self.manager.key)
        writer = self._guard(lambda: self.manager.open_journal(sim, config, expect=tail))
        writer.on_failure = self.abandon

    def save(self, broker: CheckpointedBroker) -> Path:
        """Checkpoint the broker's simulator plus its Backtrader-side state."""
        sim = broker.sim
        metadata = {"broker": broker_state(broker)}
        commission, fill = _storable(sim)
        try:
            # State, not history: the broker keeps its own order log (broker.events).
            return self._guard(lambda: self.manager.checkpoint(sim, metadata=metadata, history=False))
        finally:
            sim.commission, sim.fill = commission, fill

    def load(self) -> tuple[ExecutionSimulator, dict[str, Any]]:
        """The latest checkpoint's simulator and broker state (both fully validated)."""
        recovery = recover(self.manager.base_dir, self.simulator_id, manager=self.manager)
        metadata = recovery.checkpoint.metadata
        checked = validate_broker_state(metadata.get("broker"))
        state = dict(metadata)["broker"]
        assert isinstance(state, dict)
        self._tail = recovery.tail
        self._last_bar_times = {s: datetime.fromisoformat(t) for s, t in checked.last_bar_times.items()}
        return recovery.simulator, state

    def skip_processed_bars(self, broker: CheckpointedBroker) -> None:
        """Make each feed drop the bars the checkpoint already processed (a resumed run may be fed them)."""
        for symbol, last in self._last_bar_times.items():
            data = broker._symbols.datas.get(symbol)
            if data is not None:
                data.addfilter(_SkipThrough(last, is_daily(data), broker.p.session_close))

    def _guard(self, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except CheckpointError:
            self.abandon()
            raise

    def abandon(self) -> None:
        """Give the session up after a failed write: close files without writing, release the lock."""
        self.manager.abandon()

    def close(self) -> None:
        self.manager.close()


class _SkipThrough:
    """Backtrader data filter dropping bars stamped at or before ``last`` (simulated time)."""

    def __init__(self, last: datetime, daily: bool, session_close: time) -> None:
        self.last, self.daily, self.session_close = last, daily, session_close

    def __call__(self, data: Any) -> bool:
        stamp = core_time(data.datetime.datetime(0), self.daily, self.session_close)
        if _comparable(stamp, self.last) <= self.last:
            data.backwards()
            return True
        return False


def _comparable(value: datetime, like: datetime) -> datetime:
    if (value.tzinfo is None) == (like.tzinfo is None):
        return value
    return value.replace(tzinfo=None) if value.tzinfo is not None else value.replace(tzinfo=like.tzinfo)


def broker_state(broker: CheckpointedBroker) -> dict[str, Any]:
    """The Backtrader-side state of ``broker`` as JSON data."""
    router, symbol = broker._router, broker._symbols.symbol
    orders: dict[str, dict[str, Any]] = {}
    for core_id, order in router.bt_orders.items():
        parent_id = router.core_ids.get(order.parent.ref) if order.parent is not None else None
        orders[core_id] = describe_order(order, core_id, symbol(order.data), parent_id)
    pending = []
    for clone in broker.notifs:
        pending_id = router.core_ids.get(clone.ref)
        if pending_id is None:
            continue
        if pending_id not in orders:
            orders[pending_id] = describe_order(clone, pending_id, symbol(clone.data), None)
        pending.append({"core_id": pending_id, "status": int(clone.status)})
    leaders: dict[str, str | None] = {}
    for ref, leader in router.oco_leader.items():
        member = router.core_ids.get(ref)
        if member is not None and member in orders:
            leaders[member] = router.core_ids.get(leader)
    return {
        "version": BROKER_STATE_VERSION,
        "orders": list(orders.values()),
        "open": list(router.bt_orders),
        "pending_notifications": pending,
        "oco_leaders": leaders,
        "fundshares": broker._fundshares,
        "fundval": broker._fundval,
        "startingcash": broker.startingcash,
        # Backtrader's own numbers keep the type the strategy gave them (an int stays an int, as under
        # BackBroker): a resumed strategy must compute the same sizes, so the types are kept too.
        "cash": broker.cash,
        "position_sizes": {symbol(data): position.size
                           for data, position in broker.positions.items() if position.size},
        "cash_additions": list(broker._cash_addition),
        # When each feed's last bar closed (the next intraday bar opens then); kept here because
        # the simulator only sees the bars it needs.
        "last_bar_times": {symbol(data): ts.isoformat() for data, ts in broker._bars.last_ts.items()},
        # Trades read from a checkpoint but not yet put back (no bar since the resume) are kept as they are.
        "trades": list(broker._trades_to_restore) or open_trades(broker),
    }


def open_trades(broker: CheckpointedBroker) -> list[dict[str, Any]]:
    """The open Backtrader trades of every running strategy, as JSON data.

    ``bars_open`` counts the bars since the trade opened up to the last bar the
    broker processed, so the resumed trade's ``barlen`` continues exactly.
    """
    cerebro = getattr(broker, "cerebro", None)
    out: list[dict[str, Any]] = []
    for index, strategy in enumerate(getattr(cerebro, "runningstrats", None) or ()):
        for data, by_id in getattr(strategy, "_trades", {}).items():
            for tradeid, trades in by_id.items():
                if not trades or not trades[-1].isopen:
                    continue
                trade = trades[-1]
                out.append({
                    "strategy": index, "strategy_class": type(strategy).__name__,
                    "symbol": broker._symbols.symbol(data), "tradeid": tradeid, "size": trade.size,
                    "price": trade.price, "value": trade.value, "commission": trade.commission,
                    "pnl": trade.pnl, "pnlcomm": trade.pnlcomm, "dtopen": trade.dtopen,
                    "bars_open": broker._bars.last_len.get(data, len(data)) - trade.baropen,
                })
    return out


def restore_trades(broker: CheckpointedBroker, records: list[dict[str, Any]]) -> None:
    """Put checkpointed open trades back into the running strategies (at the first bar of a resume).

    Raises CheckpointError if the strategies or datas do not match the checkpoint's.
    """
    strategies = list(getattr(getattr(broker, "cerebro", None), "runningstrats", None) or ())
    for record in records:
        index, name = record["strategy"], record["strategy_class"]
        if index >= len(strategies) or type(strategies[index]).__name__ != name:
            found = [type(s).__name__ for s in strategies]
            raise CheckpointError(f"checkpoint has open trades of strategy #{index} {name!r}; this run's "
                                  f"strategies are {found}")
        data = broker._symbols.datas.get(record["symbol"])
        if data is None:
            raise CheckpointError(f"checkpoint has an open trade in {record['symbol']!r}, which this run "
                                  "does not have")
        strategy = strategies[index]
        trade = bt.Trade(data=data, tradeid=record["tradeid"], historyon=strategy._tradehistoryon,
                         size=record["size"], price=record["price"], value=record["value"],
                         commission=record["commission"])
        trade.pnl, trade.pnlcomm, trade.dtopen = record["pnl"], record["pnlcomm"], record["dtopen"]
        trade.isopen, trade.status, trade.long = True, bt.Trade.Open, record["size"] > 0
        # This bar is the first after the checkpoint's last one.
        trade.baropen = len(data) - 1 - record["bars_open"]
        trade.barlen = len(data) - trade.baropen
        strategy._trades[data][record["tradeid"]].append(trade)


def resume_session(broker: CheckpointedBroker, checkpointer: BrokerCheckpointer, feeds: list[Any]) -> None:
    """Put the latest checkpoint's simulator and Backtrader-side state into ``broker`` (at ``start()``).

    ``feeds`` are the run's datas. Open orders come back as genuine ``bt.Order``
    objects, undelivered notifications are queued again, and the open trades wait
    for the first bar. Raises CheckpointError if the checkpoint has orders or
    positions in a data this run does not have.
    """
    sim, state = checkpointer.load()
    if isinstance(sim.commission, BacktraderCommissionRef):
        sim.commission = broker._commission_model()
    if isinstance(sim.fill.volume_cap, BacktraderFillerRef):
        sim.fill = broker._fill_config()
    sim.add_record_listener(broker._delivery.on_event, broker._delivery.on_record)
    broker.sim = sim
    broker.resumed = True
    for data in feeds:
        broker._symbols.symbol(data)
    _restore_orders(broker, state)
    _restore_account(broker, sim, state)


def _restore_orders(broker: CheckpointedBroker, state: dict[str, Any]) -> None:
    router, symbols = broker._router, broker._symbols
    rebuilt: dict[str, Any] = {}
    for desc in state["orders"]:
        data = symbols.datas.get(desc["symbol"])
        if data is None:
            raise CheckpointError(f"checkpoint has orders for data {desc['symbol']!r}, which this run "
                                  f"does not have (datas: {sorted(symbols.datas)})")
        order = rebuild_order(desc, data, rebuilt.get(desc["parent_id"] or ""))
        rebuilt[desc["core_id"]] = order
        router.core_ids[order.ref] = desc["core_id"]
    for core_id in state["open"]:
        router.bt_orders[core_id] = rebuilt[core_id]
    for core_id, leader in state["oco_leaders"].items():
        if leader in rebuilt:
            router.oco_leader[rebuilt[core_id].ref] = rebuilt[leader].ref
    for pending in state["pending_notifications"]:
        order = rebuilt[pending["core_id"]]
        status, order.status = order.status, pending["status"]
        broker.notify(order)
        order.status = status


def _restore_account(broker: CheckpointedBroker, sim: ExecutionSimulator, state: dict[str, Any]) -> None:
    symbols, bars = broker._symbols, broker._bars
    for symbol, position in sim.positions().items():
        data = symbols.datas.get(symbol)
        if data is None:
            raise CheckpointError(f"checkpoint has a position in {symbol!r}, which this run does not have")
        size = state.get("position_sizes", {}).get(symbol)
        broker.positions[data] = bt.Position(size=kept_type(size, position.quantity),
                                             price=to_float(position.avg_price))
    broker._trades_to_restore = list(state.get("trades", ()))  # strategies exist from the first bar on
    for symbol, stamp in state["last_bar_times"].items():
        data = symbols.datas.get(symbol)
        if data is not None:
            bars.last_ts[data] = datetime.fromisoformat(stamp)
    bars.now = sim.clock
    broker.startingcash = kept_type(state["startingcash"], Decimal(str(state["startingcash"])))
    broker._fundshares, broker._fundval = float(state["fundshares"]), float(state["fundval"])
    broker._cash_addition.extend(state["cash_additions"])
    broker.cash = kept_type(state.get("cash"), sim.cash)
    broker._value = to_float(sim.get_account_value()) if sim.clock is not None else broker.cash
