"""FinbotBroker: a Backtrader broker backed by the engine-agnostic ExecutionSimulator.

The broker only translates: Backtrader orders become core orders, each bar of
every feed becomes a core ``Bar``, and core events become Backtrader order
notifications. Decisions (fills, costs, risk, latency) live in the core.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import warnings
from datetime import datetime, time
from decimal import Decimal
from typing import Any

import backtrader as bt

from finbot_bt.broker import frames
from finbot_bt.broker.convert import config_decimal, finite_positive, to_decimal, to_float
from finbot_bt.broker.data_checks import warn_zero_volume
from finbot_bt.broker.display import broker_html, broker_repr
from finbot_bt.broker.models import BacktraderCommission, BacktraderFillerCap, backbroker_slippage
from finbot_bt.broker.persistence import (
    BacktraderCommissionRef,
    BacktraderFillerRef,
    BrokerCheckpointer,
    rebuild_order,
    restore_trades,
)
from finbot_bt.broker.translate import (
    MIDNIGHT,
    bar_from_data,
    core_expiry,
    core_time,
    is_daily,
    order_from_bt,
)
from finbot_bt.contracts.enums import OrderStatus, RejectionReason
from finbot_bt.contracts.events import (
    ExecutionEvent,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from finbot_bt.contracts.latency import LatencyConfig, resolve_latency
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.positions import Instrument
from finbot_bt.errors import CheckpointError, ConfigError
from finbot_bt.execution.commission import CommissionModel
from finbot_bt.execution.fills import FillConfig
from finbot_bt.execution.journal import JournalConfig
from finbot_bt.execution.simulator import ExecutionSimulator
from finbot_bt.execution.slippage import SlippageModel

EPOCH = datetime(1970, 1, 1)
_ONE_DAY = 1.0 - 1e-6  # Backtrader date numbers count days


class FinbotBroker(bt.BrokerBase):  # type: ignore[misc]
    """Drop-in replacement for ``bt.brokers.BackBroker`` with realistic execution.

    With no arguments it behaves like ``BackBroker()``: cash 10,000, instant
    latency, no risk limits, no slippage, Backtrader commission schemes.

    Parameters (in addition to BackBroker's ``cash``, ``checksubmit``,
    ``slip_*``, ``coc``, ``coo``, ``filler``, ``fundstartval``, ``fundmode``)
    ----------
    latency : LatencyConfig or str or None
        ``"instant"`` (default), ``"fast"``, ``"normal"``, ``"slow"`` or a config.
    risk : RiskConfig or None
        Pre-trade risk rules; rejections arrive as ``Rejected`` notifications
        with ``order.info.reject_reason`` and ``order.info.reject_message``.
    slippage : SlippageModel or None
        A core slippage model; overrides the ``slip_*`` parameters.
    commission : CommissionModel or CommInfoBase
        A core commission model replaces Backtrader's commission schemes.
    fill : FillConfig or None
        Volume caps (partial fills) and funds checks.
    seed : int
        Seed of the simulator's RNG (latency draws).
    simulator_id : str or None
        Plain name for order ids and checkpoints.
    checkpoint_dir, checkpoint_every, resume : path, int, bool
        Save checkpoints under ``checkpoint_dir`` every N bars and at ``stop()``;
        with ``resume`` continue the session from the latest checkpoint plus the
        journal after it (fresh start if there is none). Feeds skip the bars the
        checkpoint already processed. One process at a time may use a
        ``simulator_id``'s folder (an OS lock; CheckpointError names the holder).
    keep_last : int or None
        Checkpoints kept per session (default 3; None keeps all).
    checkpoint_key : bytes, str or None
        Seal checkpoints and journal lines (HMAC) with this key; None uses
        ``FINBOT_BT_CHECKPOINT_KEY`` if set.
    journal : JournalConfig, False or None
        Event journal next to the checkpoints: None (default) flushes and fsyncs
        every event; ``JournalConfig(flush=FlushPolicy.EVERY_N, every=1000)`` is
        much faster for backtests; False turns the journal off.
    session_open, session_close : datetime.time
        Trading session of daily bars, in simulated time: daily bars open at
        ``session_open`` and are stamped at ``session_close``, whatever time the
        feed gives them (see the README's "Timestamps").
    """

    params = (
        ("cash", 10000.0),
        ("checksubmit", True),
        ("eosbar", False),
        ("filler", None),
        ("slip_perc", 0.0),
        ("slip_fixed", 0.0),
        ("slip_open", False),
        ("slip_limit", True),
        ("slip_match", True),
        ("slip_out", False),
        ("coc", False),
        ("coo", False),
        ("int2pnl", True),
        ("shortcash", True),
        ("fundstartval", 100.0),
        ("fundmode", False),
        ("latency", None),
        ("risk", None),
        ("slippage", None),
        ("fill", None),
        ("seed", 0),
        ("simulator_id", None),
        ("checkpoint_dir", None),
        ("checkpoint_every", None),
        ("resume", False),
        ("keep_last", 3),
        ("checkpoint_key", None),
        ("session_open", time(9, 30)),
        ("session_close", time(16, 0)),
        ("record_events", True),
        ("journal", None),
    )

    def __repr__(self) -> str:
        return broker_repr(self)  # settings, cash, value, open orders, rejections (broker.display)

    def _repr_html_(self) -> str:
        return broker_html(self)

    def __init__(self, **params: Any) -> None:
        # Backtrader's metaclass consumes the keyword parameters into ``self.p``.
        self._core_commission: CommissionModel | None = None
        self._userhist: list[list[Any]] = []  # order histories (kept across start(), as BackBroker)
        self._validate_params()
        super().__init__()

    # ------------------------------------------------------------------ configuration
    def _validate_params(self) -> None:
        p = self.p
        config_decimal("cash", p.cash)
        if p.cash < 0:
            raise ConfigError(f"cash must be >= 0, got {p.cash!r}")
        self._latency: LatencyConfig = resolve_latency(p.latency)
        if p.risk is not None:
            from finbot_bt.contracts.risk import RiskConfig

            if not isinstance(p.risk, RiskConfig):
                raise ConfigError(f"risk must be a RiskConfig, got {type(p.risk).__name__}")
        if p.slippage is not None and not isinstance(p.slippage, SlippageModel):
            raise ConfigError(f"slippage must be a SlippageModel, got {type(p.slippage).__name__}")
        if p.fill is not None and not isinstance(p.fill, FillConfig):
            raise ConfigError(f"fill must be a FillConfig, got {type(p.fill).__name__}")
        if isinstance(p.commission, CommissionModel):
            self._core_commission = p.commission
            p.commission = bt.CommInfoBase(percabs=True)
        if not isinstance(p.seed, int) or isinstance(p.seed, bool):
            raise ConfigError(f"seed must be an int, got {p.seed!r}")
        if not p.shortcash:
            raise ConfigError("shortcash=False is not supported: short sale proceeds are credited to cash")
        if p.journal is not None and p.journal is not False and not isinstance(p.journal, JournalConfig):
            raise ConfigError(f"journal must be a JournalConfig, False or None, got {p.journal!r}")
        if p.checkpoint_every is not None and (not isinstance(p.checkpoint_every, int) or p.checkpoint_every <= 0):
            raise ConfigError(f"checkpoint_every must be a positive int, got {p.checkpoint_every!r}")
        if p.keep_last is not None and (not isinstance(p.keep_last, int) or isinstance(p.keep_last, bool)
                                        or p.keep_last < 1):
            raise ConfigError(f"keep_last must be None or an int >= 1, got {p.keep_last!r}")
        for name in ("session_open", "session_close"):
            if not isinstance(getattr(p, name), time):
                raise ConfigError(f"{name} must be a datetime.time, got {getattr(p, name)!r}")

    def _fill_config(self) -> FillConfig:
        base = self.p.fill if self.p.fill is not None else FillConfig()
        changes: dict[str, Any] = {
            "check_funds_on_submit": bool(self.p.checksubmit) and base.check_funds_on_submit,
            "market_at_last_close": bool(self.p.coc) or base.market_at_last_close,
            "market_on_repeated_bar": bool(self.p.coo) or base.market_on_repeated_bar,
        }
        if self.p.filler is not None and base.volume_cap is None:
            changes["volume_cap"] = BacktraderFillerCap(filler=self.p.filler, resolve_order=self._bt_order_for,
                                                        note_size=self._filler_sizes.__setitem__,
                                                        current_time=self._current_time)
        return dataclasses.replace(base, **changes)

    def _current_time(self, data: Any) -> datetime | None:
        return self._last_ts.get(data)

    def _slippage_model(self) -> SlippageModel:
        if self.p.slippage is not None:
            model: SlippageModel = self.p.slippage
            return model
        p = self.p
        return backbroker_slippage(p.slip_perc, p.slip_fixed, p.slip_open, p.slip_limit, p.slip_match, p.slip_out)

    def _build_simulator(self) -> ExecutionSimulator:
        commission = self._core_commission or BacktraderCommission(resolve=self._comminfo_for_symbol)
        sim = ExecutionSimulator(
            config_decimal("cash", self.p.cash),
            latency=self._latency,
            slippage=self._slippage_model(),
            commission=commission,
            fill=self._fill_config(),
            risk=self.p.risk,
            seed=self.p.seed,
            simulator_id=self.p.simulator_id,
        )
        sim.add_listener(self._on_event)
        return sim

    # ------------------------------------------------------------------ lifecycle
    def init(self) -> None:
        super().init()
        self._reset()

    def _reset(self) -> None:
        # As BackBroker: the cash keeps the type it was given (an int stays an int) until it changes.
        self.startingcash: float = self.p.cash
        self.cash: float = self.p.cash
        self._filler_sizes: dict[str, Any] = {}
        self._to_submit: collections.deque[tuple[int, Any]] = collections.deque()
        self._open_checked: dict[int, Any] = {}  # order ref -> data: a cheat-on-open market order's check
        # order ref -> (order, data): timed as daily before its feed could be told intraday (first bar, no preload)
        self._timed_daily: dict[int, tuple[Any, Any]] = {}
        self.sim = self._build_simulator()
        self.positions: collections.defaultdict[Any, bt.Position] = collections.defaultdict(bt.Position)
        self.notifs: collections.deque[Any] = collections.deque()
        self._bt_orders: dict[str, Any] = {}
        self._core_ids: dict[int, str] = {}
        self._deferred: list[ExecutionEvent] = []
        self._in_submit = False
        self._symbols: dict[Any, str] = {}
        self._datas_by_symbol: dict[str, Any] = {}
        self._instrument_keys: dict[str, tuple[Any, Any]] = {}
        self._last_len: dict[Any, int] = {}
        self._last_ts: dict[Any, datetime] = {}
        self._now: datetime | None = None
        self._oco_leader: dict[int, int] = {}
        self._trailing: dict[str, Any] = {}
        self._intraday: set[Any] = set()
        self._last_num: dict[Any, float] = {}
        self._held: dict[int, list[Any]] = {}
        self._cash_addition: collections.deque[float] = collections.deque()
        self._value: float = self.cash
        self._fundshares = float(self.cash) / self.p.fundstartval
        self._fundval = float(self.p.fundstartval)
        self.events: list[ExecutionEvent] = []
        self.equity_curve: list[tuple[datetime, float, float]] = []
        self._bars_seen = 0
        self.data_warnings: tuple[str, ...] = ()  # ZeroVolumeWarning messages of this run
        self._feed_table: list[tuple[Any, str, bool]] = []
        self._trades_to_restore: list[dict[str, Any]] = []
        self._expiry_memo: tuple[tuple[float, float, bool, time], datetime] | None = None

    def start(self) -> None:
        super().start()
        for data in self._feeds():
            _refuse_compensation(data)
        self._checkpointer: BrokerCheckpointer | None = None
        self.resumed = False
        if self.p.checkpoint_dir is None:
            return
        checkpointer = BrokerCheckpointer(self.p.checkpoint_dir, self.sim.simulator_id, keep_last=self.p.keep_last,
                                          key=self.p.checkpoint_key)
        try:
            if self.p.resume and checkpointer.has_checkpoint():
                self._resume(checkpointer)
                checkpointer.skip_processed_bars(self)
            if self.p.journal is not False:
                checkpointer.attach_journal(self.sim, self.p.journal, resume=bool(self.p.resume))
        except BaseException:
            checkpointer.close()
            raise
        self._checkpointer = checkpointer

    def stop(self) -> None:
        super().stop()
        self._flush_submissions(defer=True)  # orders of the last next() are known to the simulator
        if getattr(self, "_checkpointer", None) is not None:
            self.checkpoint()
            assert self._checkpointer is not None
            self._checkpointer.close()
            self._checkpointer = None

    def checkpoint(self) -> Any:
        """Save a checkpoint now (needs ``checkpoint_dir``); returns its path.

        The checkpoint holds everything up to the end of the last bar's cycle,
        including orders placed in the strategy's last ``next()`` and the
        notifications not yet delivered.
        """
        if getattr(self, "_checkpointer", None) is None:
            raise ConfigError("checkpoint() needs FinbotBroker(checkpoint_dir=...) and a started run")
        assert self._checkpointer is not None
        self._flush_submissions(defer=True)
        deferred, self._deferred = self._deferred, []
        for event in deferred:
            self._apply(event)
        return self._checkpointer.save(self)

    def _resume(self, checkpointer: BrokerCheckpointer) -> None:
        sim, state = checkpointer.load()
        if isinstance(sim.commission, BacktraderCommissionRef):
            sim.commission = self._core_commission or BacktraderCommission(resolve=self._comminfo_for_symbol)
        if isinstance(sim.fill.volume_cap, BacktraderFillerRef):
            sim.fill = self._fill_config()
        sim.add_listener(self._on_event)
        self.sim = sim
        self.resumed = True
        for data in self._feeds():
            self._symbol(data)
        rebuilt: dict[str, Any] = {}
        for desc in state["orders"]:
            data = self._datas_by_symbol.get(desc["symbol"])
            if data is None:
                raise CheckpointError(f"checkpoint has orders for data {desc['symbol']!r}, which this run "
                                      f"does not have (datas: {sorted(self._datas_by_symbol)})")
            order = rebuild_order(desc, data, rebuilt.get(desc["parent_id"] or ""))
            rebuilt[desc["core_id"]] = order
            self._core_ids[order.ref] = desc["core_id"]
        for core_id in state["open"]:
            self._bt_orders[core_id] = rebuilt[core_id]
        for core_id, leader in state["oco_leaders"].items():
            if leader in rebuilt:
                self._oco_leader[rebuilt[core_id].ref] = rebuilt[leader].ref
        for pending in state["pending_notifications"]:
            order = rebuilt[pending["core_id"]]
            status, order.status = order.status, pending["status"]
            self.notify(order)
            order.status = status
        for symbol, position in sim.positions().items():
            data = self._datas_by_symbol.get(symbol)
            if data is None:
                raise CheckpointError(f"checkpoint has a position in {symbol!r}, which this run does not have")
            size = state.get("position_sizes", {}).get(symbol)
            self.positions[data] = bt.Position(size=_kept_type(size, position.quantity),
                                               price=to_float(position.avg_price))
        self._trades_to_restore = list(state.get("trades", ()))  # strategies exist from the first bar on
        for symbol, stamp in state["last_bar_times"].items():
            data = self._datas_by_symbol.get(symbol)
            if data is not None:
                self._last_ts[data] = datetime.fromisoformat(stamp)
        self._now = sim.clock
        self.startingcash = _kept_type(state["startingcash"], Decimal(str(state["startingcash"])))
        self._fundshares, self._fundval = float(state["fundshares"]), float(state["fundval"])
        self._cash_addition.extend(state["cash_additions"])
        self.cash = _kept_type(state.get("cash"), sim.cash)
        self._value = to_float(sim.get_account_value()) if sim.clock is not None else self.cash

    # ------------------------------------------------------------------ BackBroker setters
    def set_cash(self, cash: float) -> None:
        """Set starting cash (as BackBroker: also survives ``start()``)."""
        amount = config_decimal("cash", cash)
        self.p.cash = cash
        self.startingcash = self.cash = self._value = cash
        self.sim.portfolio.cash = amount
        self.sim.initial_cash = amount

    setcash = set_cash

    def add_cash(self, cash: float) -> None:
        """Deposit (or withdraw, negative) cash at the next bar, as BackBroker does."""
        config_decimal("cash", cash)
        self._cash_addition.append(float(cash))

    def set_coc(self, coc: bool) -> None:
        """Cheat-on-close: market orders fill at the close of their creation bar."""
        self.p.coc = coc
        self.sim.fill = self._fill_config()

    def set_coo(self, coo: bool) -> None:
        """Cheat-on-open: market orders placed in ``next_open`` fill at that bar's open."""
        self.p.coo = coo
        self.sim.fill = self._fill_config()

    def set_checksubmit(self, checksubmit: bool) -> None:
        self.p.checksubmit = checksubmit
        self.sim.fill = self._fill_config()

    def set_filler(self, filler: Any) -> None:
        """Use a Backtrader filler (volume-based partial fills)."""
        self.p.filler = filler
        self.sim.fill = self._fill_config()

    def set_slippage_perc(self, perc: float, slip_open: bool = True, slip_limit: bool = True,
                          slip_match: bool = True, slip_out: bool = False) -> None:
        """BackBroker's percentage slippage (``perc`` 0.01 = 1 %)."""
        self.p.slip_perc, self.p.slip_fixed = perc, 0.0
        self._set_slip_flags(slip_open, slip_limit, slip_match, slip_out)

    def set_slippage_fixed(self, fixed: float, slip_open: bool = True, slip_limit: bool = True,
                           slip_match: bool = True, slip_out: bool = False) -> None:
        """BackBroker's fixed slippage (price units)."""
        self.p.slip_perc, self.p.slip_fixed = 0.0, fixed
        self._set_slip_flags(slip_open, slip_limit, slip_match, slip_out)

    def _set_slip_flags(self, slip_open: bool, slip_limit: bool, slip_match: bool, slip_out: bool) -> None:
        p = self.p
        p.slip_open, p.slip_limit, p.slip_match, p.slip_out = slip_open, slip_limit, slip_match, slip_out
        self.sim.slippage = self._slippage_model()

    def set_int2pnl(self, int2pnl: bool) -> None:
        self.p.int2pnl = int2pnl

    def set_shortcash(self, shortcash: bool) -> None:
        if not shortcash:
            raise ConfigError("shortcash=False is not supported: short sale proceeds are credited to cash")

    def set_eosbar(self, eosbar: bool) -> None:
        self.p.eosbar = eosbar

    seteosbar = set_eosbar

    def set_fundmode(self, fundmode: bool, fundstartval: float | None = None) -> None:
        self.p.fundmode = fundmode
        if fundstartval is not None:
            self.set_fundstartval(fundstartval)

    def set_fundstartval(self, fundstartval: float) -> None:
        self.p.fundstartval = fundstartval
        self._fundval = float(fundstartval)
        self._fundshares = self.cash / fundstartval

    def get_fundmode(self) -> bool:
        return bool(self.p.fundmode)

    fundmode = property(get_fundmode, set_fundmode)

    def get_fundshares(self) -> float:
        return float(self._fundshares)

    fundshares = property(get_fundshares)

    def get_fundvalue(self) -> float:
        return float(self._fundval)

    fundvalue = property(get_fundvalue)

    def get_leverage(self) -> float:
        return 1.0

    # ------------------------------------------------------------------ queries
    def getcash(self) -> float:
        """Cash, as of the last bar (BackBroker semantics)."""
        return self.cash

    get_cash = getcash

    def getvalue(self, datas: Any = None, mkt: bool = False, lever: bool = False) -> float:
        """Portfolio value (cached at each bar), or the position value of ``datas``.

        As BackBroker, valuing ``datas`` first books pending ``add_cash`` amounts
        (``order_target_value``/``order_target_percent`` see a deposit at once).
        """
        if datas is None:
            if mkt:
                return self._value - self.cash
            return self._value
        if self._cash_addition:
            self._apply_cash_additions()
            self.cash = to_float(self.sim.cash)
        total = 0.0
        for data in datas:
            comminfo = self.getcommissioninfo(data)
            total += comminfo.getvaluesize(self.positions[data].size, data.close[0])
        if len(datas) == 1:
            return total
        return self.cash + total

    get_value = getvalue

    def get_value_lever(self, datas: Any = None, mkt: bool = False) -> float:
        return self.getvalue(datas=datas, mkt=mkt)

    def getposition(self, data: Any) -> bt.Position:
        """The live Backtrader position of ``data``."""
        return self.positions[data]

    def get_orders_open(self, safe: bool = False) -> list[Any]:
        """Accepted orders still working (clones if ``safe``)."""
        out = [o for o in self._bt_orders.values() if o.status in (bt.Order.Accepted, bt.Order.Partial)]
        return [o.clone() for o in out] if safe else out

    def orderstatus(self, order: Any) -> int:
        """Status of ``order`` (BackBroker's version crashes)."""
        core_id = self._core_ids.get(order.ref)
        tracked = self._bt_orders.get(core_id) if core_id is not None else None
        return int((tracked or order).status)

    def get_notification(self) -> Any:
        try:
            return self.notifs.popleft()
        except IndexError:
            return None

    def notify(self, order: Any) -> None:
        self.notifs.append(order.clone())

    # ------------------------------------------------------------------ orders in
    def buy(self, owner: Any, data: Any, size: float, price: float | None = None, plimit: float | None = None,
            exectype: int | None = None, valid: Any = None, tradeid: int = 0, oco: Any = None,
            trailamount: float | None = None, trailpercent: float | None = None, parent: Any = None,
            transmit: bool = True, histnotify: bool = False, _checksubmit: bool = True,
            **kwargs: Any) -> Any:
        return self._place(bt.BuyOrder, oco, kwargs, owner=owner, data=data, size=size, price=price,
                           pricelimit=plimit, exectype=exectype, valid=valid, tradeid=tradeid,
                           trailamount=trailamount, trailpercent=trailpercent, parent=parent,
                           transmit=transmit, histnotify=histnotify)

    def sell(self, owner: Any, data: Any, size: float, price: float | None = None, plimit: float | None = None,
             exectype: int | None = None, valid: Any = None, tradeid: int = 0, oco: Any = None,
             trailamount: float | None = None, trailpercent: float | None = None, parent: Any = None,
             transmit: bool = True, histnotify: bool = False, _checksubmit: bool = True,
             **kwargs: Any) -> Any:
        return self._place(bt.SellOrder, oco, kwargs, owner=owner, data=data, size=size, price=price,
                           pricelimit=plimit, exectype=exectype, valid=valid, tradeid=tradeid,
                           trailamount=trailamount, trailpercent=trailpercent, parent=parent,
                           transmit=transmit, histnotify=histnotify)

    def _place(self, order_class: Any, oco: Any, info: dict[str, Any], **params: Any) -> Any:
        # BackBroker's buy/sell: a genuine bt order, extra keywords in order.info, then OCO and submit.
        order = order_class(**params)
        order.addinfo(**info)
        self._ocoize(order, oco)
        return self.submit(order)

    def _ocoize(self, order: Any, oco: Any) -> None:
        leader = order.ref if oco is None else self._oco_leader.get(oco.ref, oco.ref)
        self._oco_leader[order.ref] = leader

    def submit(self, order: Any) -> Any:
        """Hold bracket members until a transmitting order arrives, then send the group."""
        group_ref = order.parent.ref if order.parent is not None else order.ref
        if order.parent is not None and order.parent.ref not in self._core_ids \
                and group_ref not in self._held:
            order.reject()
            order.addinfo(reject_reason=RejectionReason.PARENT_INACTIVE.value,
                          reject_message="parent order was never transmitted")
            self.notify(order)
            return order
        self._held.setdefault(group_ref, []).append(order)
        if not order.transmit:
            return order
        last = order
        for member in self._held.pop(group_ref):
            last = self._transmit(member)
        return last

    # ------------------------------------------------------------------ kill switch
    def disable_trading(self, reason: str = "kill switch", *, cancel_open_orders: bool = True,
                        flatten: bool = False) -> None:
        """Kill switch: halt trading, cancel open orders, optionally flatten every position.

        New orders are then ``Rejected`` (``risk_trading_disabled``) until
        :meth:`enable_trading`. Flattening sends market orders (owned by the first
        strategy) that close each position at the next bar; they pass the halt.
        """
        self._flush_submissions(defer=True)
        self.sim.disable_trading(reason, self._now or EPOCH, cancel_open_orders=cancel_open_orders)
        if flatten:
            for data, position in list(self.positions.items()):
                if position.size:
                    cls = bt.SellOrder if position.size > 0 else bt.BuyOrder
                    order = cls(owner=None, data=data, size=abs(position.size), exectype=bt.Order.Market)
                    self._oco_leader[order.ref] = order.ref
                    self._transmit(order, exempt=True)

    def enable_trading(self, reason: str = "enabled") -> None:
        """Resume trading after the kill switch or a drawdown latch."""
        self.sim.enable_trading(self._now or EPOCH, reason)

    @property
    def trading_state(self) -> str:
        """``"active"``, ``"reducing"`` (after a drawdown breach) or ``"halted"`` (kill switch)."""
        return self.sim.trading_state.value

    def _transmit(self, order: Any, exempt: bool = False) -> Any:
        data = order.data
        _refuse_compensation(data)
        symbol = self._symbol(data)
        self._sync_instrument(symbol, data)
        core_id = self.sim.next_order_id()
        self._core_ids[order.ref] = core_id
        self._bt_orders[core_id] = order
        if order.exectype in (bt.Order.StopTrail, bt.Order.StopTrailLimit):
            self._trailing[core_id] = order
        order.submit()
        historical = order.exectype == bt.Order.Historical
        if self.p.checksubmit and not historical:
            self.notify(order)
        parent_id = self._core_ids.get(order.parent.ref) if order.parent is not None else None
        expire_at = None
        if order.valid:
            expire_at = self._expiry(order.valid, data)
        try:
            core_order = order_from_bt(order, order_id=core_id, symbol=symbol,
                                       oco_group=f"oco-{self._oco_group_id(order, core_id)}",
                                       parent_id=parent_id, expire_at=expire_at)
        except (ArithmeticError, ValueError) as exc:
            self._reject_locally(order, f"order cannot be translated: {exc}")
            return order
        timestamp, reference = self._submission_time(order, data)
        funds_price = None
        if self.p.coc and order.exectype == bt.Order.Market and finite_positive(order.created.pclose):
            # Cheat-on-close fills at the creation close even when the order names a price
            # (BackBroker); its submission check still values the order at that price.
            funds_price, reference = reference, to_decimal(order.created.pclose)
        submission = functools.partial(
            self.sim.submit_order, core_order, timestamp, reference_price=reference, exempt=exempt,
            funds_price=funds_price, close_session=self._close_session(order, data))
        if historical:
            # Order history: accepted unchecked and filled at its own price on this bar (BackBroker).
            submission.keywords.update(exempt=True, fixed_price=to_decimal(order.created.price))
            self._submit_now(submission)
        elif self.p.checksubmit:
            # As BackBroker, submitted orders are checked (cash, risk) at the broker's next cycle:
            # a setcash or add_cash made after the order in the same next() counts.
            self._to_submit.append((order.ref, submission))
            if (order.valid or order.exectype == bt.Order.Close) and self._is_daily(data) and len(data) < 2:
                self._timed_daily[order.ref] = (order, data)
            if self.p.coo and order.exectype == bt.Order.Market:
                self._open_checked[order.ref] = data
        else:
            self._submit_now(submission)
        return order

    def _submit_now(self, submission: Any) -> None:
        clock = self.sim.clock
        if clock is not None and submission.args[1] < clock:
            # An order from next_open() moved the clock to its feed's open: not before it.
            submission = functools.partial(submission.func, submission.args[0], clock, **submission.keywords)
        submission()

    def _flush_submissions(self, defer: bool) -> None:
        # ``defer``: called from a strategy (cancel, kill switch); notifications wait for next().
        self._in_submit = defer
        try:
            while self._to_submit:
                ref, submission = self._to_submit.popleft()
                data = self._open_checked.pop(ref, None) if self._open_checked else None
                if data is not None and finite_positive(data.open[0]):
                    # Cheat-on-open: BackBroker's check values a market order at its data's
                    # open when the check runs (the bar after the order's, for one from next()).
                    submission.keywords["funds_price"] = to_decimal(data.open[0])
                if self._timed_daily:
                    submission = self._retimed(ref, submission)
                self._submit_now(submission)
        finally:
            self._in_submit = False

    def _retimed(self, ref: int, submission: Any) -> Any:
        # An order placed on its feed's first bar without preload was timed as daily; if the feed's
        # next bar showed it intraday (fuzz seed 2225), time its validity and session end again.
        entry = self._timed_daily.pop(ref, None)
        if entry is None or self._is_daily(entry[1]):
            return submission
        order, data = entry
        core_order = submission.args[0]
        if order.valid:
            core_order = dataclasses.replace(core_order, expire_at=self._expiry(order.valid, data))
        keywords = {**submission.keywords, "close_session": self._close_session(order, data)}
        return functools.partial(submission.func, core_order, *submission.args[1:], **keywords)

    def _close_session(self, order: Any, data: Any) -> tuple[datetime, datetime] | None:
        # Backtrader's Close rule in simulated time: tried on bars after the creation bar,
        # filled from the first bar at or after the order's end of session (order.dteos).
        if order.exectype != bt.Order.Close or not order.dteos:
            return None
        daily, close = self._is_daily(data), self.p.session_close
        return (core_time(bt.num2date(order.created.dt), daily, close),
                core_time(bt.num2date(order.dteos), daily, close))

    def _expiry(self, valid: float, data: Any) -> datetime:
        # Orders placed together usually share their validity: convert each value once.
        key = (valid, data.datetime[0] if len(data) else 0.0, self._is_daily(data), self.p.session_close)
        memo = self._expiry_memo
        if memo is None or memo[0] != key:
            bar_time = bt.num2date(key[1]).time() if len(data) else MIDNIGHT
            memo = self._expiry_memo = (key, core_expiry(bt.num2date(valid), key[2], bar_time, key[3]))
        return memo[1]

    def _oco_group_id(self, order: Any, core_id: str) -> str:
        # Named after the leader's core id: Backtrader refs restart in a new process.
        leader = self._oco_leader.get(order.ref, order.ref)
        return self._core_ids.get(leader, core_id)

    def _reject_locally(self, order: Any, message: str) -> None:
        order.reject()
        order.addinfo(reject_reason=RejectionReason.INVALID_ORDER.value, reject_message=message)
        self.notify(order)
        self._forget(order)

    def _submission_time(self, order: Any, data: Any) -> tuple[datetime, Decimal | None]:
        now = self._now or EPOCH
        if self.p.coo and len(data) > self._last_len.get(data, 0):
            # next_open(): the bar has started but the broker has not seen it yet.
            daily = self._is_daily(data)
            ts = core_time(data.datetime.datetime(0), daily, self.p.session_close)
            bar = bar_from_data(data, ts, daily, self.p.session_open, self._last_ts.get(data))
            if bar is not None:
                open_time = bar.open_time or self._last_ts.get(data) or now
                if order.exectype == bt.Order.Market:
                    return max(open_time, now), bar.open
                return max(open_time, now), self._created_price(order)
        # BackBroker's submission check values every order at ``created.price``
        # (the creation close for market orders, else the order's own price).
        return now, self._created_price(order)

    @staticmethod
    def _created_price(order: Any) -> Decimal | None:
        price = order.created.price
        if price is None or not 0 < price < math.inf:
            return None
        return to_decimal(price)

    def cancel(self, order: Any, bracket: bool = False) -> bool:
        """Request a cancel; returns True if the request was sent (the order was working)."""
        if any(ref == order.ref for ref, _ in self._to_submit):
            self._flush_submissions(defer=True)  # the order reaches the simulator, then the cancel
        core_id = self._core_ids.get(order.ref)
        if core_id is None or not order.alive():
            for group in self._held.values():
                if order in group:
                    group.remove(order)
                    order.cancel()
                    self.notify(order)
                    return True
            return False
        result = self.sim.cancel_order(core_id, self._now or EPOCH)
        return result is not None and result.status in (OrderStatus.PENDING_CANCEL, OrderStatus.CANCELLED)

    # ------------------------------------------------------------------ bar loop
    def next(self) -> None:
        every = self.p.checkpoint_every
        if every is not None and self._bars_seen and self._bars_seen % every == 0 \
                and getattr(self, "_checkpointer", None) is not None:
            self.checkpoint()  # the state at the end of the previous bar's cycle
        if not self._bars_seen:
            self.data_warnings = warn_zero_volume(self._feeds(), self.sim.fill.volume_cap)
        self._bars_seen += 1
        if self._trades_to_restore:
            records, self._trades_to_restore = self._trades_to_restore, []
            restore_trades(self, records)
        deferred, self._deferred = self._deferred, []
        for event in deferred:
            self._apply(event)
        timed: dict[Any, bool] = {}
        if self._to_submit:
            # Orders are timed (validity, session end) as they are flushed: judge first whether the
            # feeds' new bars show a daily-declared feed to be intraday (fuzz seed 2225).
            timed = self._time_new_bars()
            self._flush_submissions(defer=False)
        if self._userhist:
            self._process_order_history()
        bars: dict[str, Bar] = {}
        now = self._now
        if len(self._feed_table) != len(self._symbols) or not self._feed_table:
            self._feed_table = [(data, self._symbol(data), self._is_daily(data)) for data in self._feeds()]
        last_len, last_ts, sim = self._last_len, self._last_ts, self.sim
        session_open, session_close = self.p.session_open, self.p.session_close
        # Feeds usually share their timestamps: convert each (number, timezone) once a bar.
        stamps: dict[tuple[float, Any], datetime] = {}
        # Feeds with open orders are passed every cycle, their last bar again if they have no new
        # one: BackBroker tries every order every cycle, against its data's current (old) bar.
        idle: list[tuple[Any, str, bool]] = []
        # BackBroker tries an order on every bar of its data that arrives in a later cycle, even one
        # that opened before the order (feeds on other calendars moved the clock past its open).
        floor = self._now if self._latency.is_instant else None
        for entry in self._feed_table:
            data, symbol, daily = entry
            length = len(data)
            if length <= last_len.get(data, 0):
                if length:
                    idle.append(entry)
                continue
            last_len[data] = length
            line = data.datetime
            key = (line[0], line._tz)
            stamp = stamps.get(key)
            if stamp is None:
                stamp = stamps[key] = line.datetime(0)
            if daily:
                daily = timed[data] if data in timed else self._bars_are_daily(data, line)
            ts = core_time(stamp, daily, session_close)
            previous = last_ts.get(data)
            last_ts[data] = ts
            if now is None or ts > now:
                now = ts
            if not sim.needs_market_data(symbol):
                continue  # nothing to match, value or watch: skip building the bar
            if previous is not None and floor is not None and previous < floor <= ts:
                previous = floor
            bar = bar_from_data(data, ts, daily, session_open, previous, not sim.needs_full_bar(symbol))
            if bar is not None:
                bars[symbol] = bar
        repeated: list[str] = []
        for data, symbol, daily in idle:
            previous_ts = last_ts.get(data)
            if previous_ts is not None and sim.needs_full_bar(symbol):
                bar = bar_from_data(data, previous_ts, daily, session_open, None)
                if bar is not None:
                    bars[symbol] = bar
                    repeated.append(symbol)
        if now is not None and sim.clock is not None and now < sim.clock:
            now = sim.clock  # an order placed in next_open() already moved the clock to a later open
        if now is not None:
            self._now = now
            self.sim.process_market_data(now, bars, repeated=repeated)
            if self._trailing:
                self._follow_trails()
        self._apply_cash_additions()
        self._refresh_value()

    def _is_daily(self, data: Any) -> bool:
        return is_daily(data) and data not in self._intraday

    def _time_new_bars(self) -> dict[Any, bool]:
        # Whether each daily-declared feed with a new bar is daily, judged once per bar.
        last_len = self._last_len
        return {data: self._bars_are_daily(data, data.datetime) for data in self._feeds()
                if len(data) > last_len.get(data, 0) and self._is_daily(data)}

    def _bars_are_daily(self, data: Any, line: Any) -> bool:
        # Timing comes from the bars' own timestamps: a feed declared daily (often just
        # PandasData's default) whose bars are less than a day apart is timed as intraday.
        num = line[0]
        previous = self._last_num.get(data)
        self._last_num[data] = num
        if previous is None:
            try:
                gap = line[1] - num  # preloaded data: look at the next bar
            except IndexError:
                # Cannot tell yet (no preload): a daily bar is placed at the session close only when that
                # does not move it later; a midnight or mid-session stamp stays where it is.
                stamped = line.datetime(0).time()
                return bool(stamped != MIDNIGHT and stamped >= self.p.session_close)
        else:
            gap = num - previous
        if gap >= _ONE_DAY:
            return True
        self._intraday.add(data)
        self._feed_table = []  # rebuilt with this feed as intraday at the next bar
        warnings.warn(
            f"FinbotBroker: data {self._symbol(data)!r} is declared with a daily timeframe but its bars are "
            f"{gap * 1440:g} minutes apart; its orders are timed by the bars' own timestamps "
            "(pass timeframe=bt.TimeFrame.Minutes and compression to the feed to silence this)",
            UserWarning, stacklevel=2)
        return False

    def _follow_trails(self) -> None:
        # BackBroker moves a trailing order's created.price (and pricelimit) with the trail.
        for core_id, order in self._trailing.items():
            core = self.sim.get_order(core_id)
            if core is not None:
                self._follow_trail(order, core)

    @staticmethod
    def _follow_trail(order: Any, core: Order) -> None:
        if core.stop_price is not None:
            order.created.price = to_float(core.stop_price)
            if core.limit_price is not None and order.exectype == bt.Order.StopTrailLimit:
                order.created.pricelimit = to_float(core.limit_price)

    def add_order_history(self, orders: Any, notify: bool = True) -> None:
        """Replay a history of ``[datetime, size, price(, data)]`` trades (``cerebro.add_order_history``).

        As BackBroker: each becomes a ``Historical`` order of the first strategy when its
        data reaches the datetime, accepted without checks and filled at its price.
        """
        iterator = iter(orders)
        self._userhist.append([next(iterator, None), iterator, notify])

    def _process_order_history(self) -> None:
        cerebro = self.cerebro
        for history in self._userhist:
            entry, entries, notify = history
            while entry is not None:
                entry = list(entry)
                index = entry[3] if len(entry) > 3 else None
                if index is None:
                    data = cerebro.datas[0]
                elif isinstance(index, int):
                    data = cerebro.datas[index]
                else:
                    data = cerebro.datasbyname[index]
                if not len(data) or _history_time(entry[0]) > data.datetime.datetime():
                    break  # not yet: the history is in time order
                size, price = entry[1], entry[2]
                method = self.buy if size > 0 else self.sell
                if size:
                    method(owner=cerebro.runningstrats[0], data=data, size=abs(size), price=price,
                           exectype=bt.Order.Historical, histnotify=notify, _checksubmit=False)
                history[0] = entry = next(entries, None)

    def _feeds(self) -> list[Any]:
        cerebro = getattr(self, "cerebro", None)
        datas = list(cerebro.datas) if cerebro is not None else []
        for data in self._symbols:
            if data not in datas:
                datas.append(data)
        return datas

    def _apply_cash_additions(self) -> None:
        while self._cash_addition:
            amount = self._cash_addition.popleft()
            self._fundshares += amount / self._fundval
            self.sim.add_cash(to_decimal(amount))

    def _refresh_value(self) -> None:
        self.cash = to_float(self.sim.cash)
        value = self.cash
        for data, position in self.positions.items():
            if position.size:
                value += self.getcommissioninfo(data).getvaluesize(position.size, data.close[0])
        self._value = value
        self._fundval = value / self._fundshares if self._fundshares else self._fundval
        if self.p.record_events and self._now is not None:
            self.equity_curve.append((self._now, self.cash, value))

    # ------------------------------------------------------------------ events out
    def _on_event(self, event: ExecutionEvent) -> None:
        if self.p.record_events:
            self.events.append(event)
        if self._in_submit and self.p.checksubmit:
            self._deferred.append(event)
        else:
            self._apply(event)

    def _apply(self, event: ExecutionEvent) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            getattr(self, handler)(event)

    def _apply_accepted(self, event: OrderAccepted) -> None:
        order = self._bt_orders.get(event.order.order_id)
        if order is not None and order.status in (bt.Order.Created, bt.Order.Submitted):
            if order.status == bt.Order.Created:
                order.submit()
            order.accept()
            self.notify(order)

    def _apply_terminal(self, event: OrderRejected | OrderCancelled | OrderExpired) -> None:
        order = self._bt_orders.get(event.order.order_id)
        if order is None or not order.alive():
            return
        if self._trailing and event.order.order_id in self._trailing:
            self._follow_trail(order, event.order)  # trailed on this bar before its group cancelled it
        if isinstance(event, OrderRejected):
            if event.reason is RejectionReason.INSUFFICIENT_FUNDS:
                order.margin()
            else:
                order.reject()
            order.addinfo(reject_reason=event.reason.value, reject_message=event.message)
        elif isinstance(event, OrderCancelled):
            order.cancel()
        else:
            order.status = bt.Order.Expired
            order.executed.dt = order.data.datetime[0]
        self.notify(order)
        self._forget(order)

    def _apply_fill(self, event: OrderFilled) -> None:
        order = self._bt_orders.get(event.order.order_id)
        if order is None:
            return
        data = order.data
        position = self.positions[data]
        comminfo = self.getcommissioninfo(data)
        execution = event.execution
        price = to_float(execution.price)
        # Sizes keep the strategy's type, as BackBroker: an int order executes int sizes.
        # With a filler, BackBroker executes the size the filler returned (its type too).
        filled = self._filler_sizes.pop(event.order.order_id, None) if self._filler_sizes else None
        as_int = type(order.created.size if filled is None else filled) is int
        closed = _size(event.closed_quantity, as_int)
        opened = _size(event.opened_quantity, as_int)
        # Backtrader's Position splits the size itself (a reversal closes the position's own size,
        # an int): take its values, of its types, when they agree with the simulator's split.
        _, _, split_opened, split_closed = position.pseudoupdate(closed + opened, price)
        if split_opened == opened and split_closed == closed:
            opened, closed = split_opened, split_closed
        refused = closed and not opened and self._refused_reversal_size(order, filled, closed)
        if refused:
            # BackBroker executes the closing part of the size it tried, of that split's type
            # (a float position makes it a float; fuzz seed 816).
            tried_closed = position.pseudoupdate(refused, price)[3]
            if tried_closed == closed:
                closed = tried_closed
        size = closed + opened
        closedvalue = comminfo.getvaluesize(-closed, position.price) if closed else 0.0
        openedvalue = comminfo.getvaluesize(opened, price) if opened else 0.0
        closedcomm = to_float(event.closed_commission)
        openedcomm = to_float(execution.commission - event.closed_commission)
        if refused:  # BackBroker reports the position the whole size would have made
            psize, pprice, _, _ = position.pseudoupdate(refused, price)
            position.update(size, price, data.datetime.datetime(0))
        else:
            psize, pprice, _, _ = position.update(size, price, data.datetime.datetime(0))
        order.execute(self._execution_dt(order, execution.timestamp), size, price,
                      closed, closedvalue, closedcomm, opened, openedvalue, openedcomm,
                      comminfo.margin, to_float(event.realized_pnl), psize, pprice)
        order.addcomminfo(comminfo)
        self.notify(order)
        if not order.alive():
            self._forget(order)

    def _refused_reversal_size(self, order: Any, filled: Any, closed: Any) -> Any:
        # The size BackBroker's _execute tried when only the closing part of a reversal went
        # through (the opening part refused for cash), or 0 if nothing was refused.
        if filled is not None:
            attempted = filled if order.isbuy() else -filled
            if abs(attempted) > abs(order.executed.remsize):
                attempted = order.executed.remsize
        elif self.p.fill is not None and self.p.fill.volume_cap is not None:
            return 0  # a core volume cap decided the size: not known here
        else:
            attempted = order.executed.remsize
        return attempted if abs(attempted) > abs(closed) else 0

    def _execution_dt(self, order: Any, timestamp: datetime) -> float:
        if self.p.coc and order.exectype == bt.Order.Market and order.info.get("coc", True):
            return float(order.created.dt)
        if self._latency.is_instant:
            if order.exectype == bt.Order.Close and timestamp < self._last_ts.get(order.data, timestamp):
                return float(order.data.datetime[-1])  # at the close noted on the bar before (BackBroker's ago=-1)
            return float(order.data.datetime[0])
        return float(bt.date2num(timestamp))

    def _forget(self, order: Any) -> None:
        core_id = self._core_ids.get(order.ref)
        if core_id is not None:
            self._bt_orders.pop(core_id, None)
            self._trailing.pop(core_id, None)

    def _bt_order_for(self, core_id: str) -> Any:
        return self._bt_orders.get(core_id)

    # ------------------------------------------------------------------ event log
    def orders_frame(self) -> Any:
        """Every order of the run with its final state (pandas DataFrame)."""
        return frames.orders_frame(self.events)

    def fills_frame(self) -> Any:
        """Every fill: requested vs filled price, slippage, commission, latency (DataFrame)."""
        return frames.fills_frame(self.events)

    def rejections_frame(self) -> Any:
        """Every rejection with its reason code and message (DataFrame)."""
        return frames.rejections_frame(self.events)

    def equity_frame(self) -> Any:
        """Cash and value at each bar (DataFrame indexed by simulated time)."""
        return frames.equity_frame(self.equity_curve)

    # ------------------------------------------------------------------ symbols and instruments
    def _symbol(self, data: Any) -> str:
        symbol = self._symbols.get(data)
        if symbol is None:
            base = getattr(data, "_name", "") or f"data{len(self._symbols)}"
            symbol = base
            n = 1
            while symbol in self._datas_by_symbol:
                n += 1
                symbol = f"{base}#{n}"
            self._symbols[data] = symbol
            self._datas_by_symbol[symbol] = data
        return symbol

    def _comminfo_for_symbol(self, symbol: str) -> Any:
        return self.getcommissioninfo(self._datas_by_symbol[symbol])

    def _sync_instrument(self, symbol: str, data: Any) -> None:
        comminfo = self.getcommissioninfo(data)
        margin = None if comminfo.stocklike else comminfo.get_margin(data.close[0])
        key = (comminfo.p.mult, margin)
        if self._instrument_keys.get(symbol) == key:
            return
        position = self.sim.portfolio.positions.get(symbol)
        if (position is not None and position.quantity != 0) or self.sim.open_orders(symbol):
            return  # terms cannot change under an open position; keep the first ones
        self.sim.set_instrument(Instrument(
            symbol=symbol, multiplier=to_decimal(comminfo.p.mult),
            margin=None if margin is None else to_decimal(margin),
        ))
        self._instrument_keys[symbol] = key


def _refuse_compensation(data: Any) -> None:
    other = getattr(data, "_compensate", None)
    if other is not None:
        raise ConfigError(
            f"data {getattr(data, '_name', '')!r} compensates {getattr(other, '_name', '')!r} "
            "(data.compensate(other)), which FinbotBroker does not support: its orders would trade "
            "without moving the other data's position. Trade the other data directly, or use "
            "bt.brokers.BackBroker for this run (docs/differences.md, 'Not supported')")


def _history_time(value: Any) -> datetime:
    # BackBroker's formats: a datetime, a date, or "YYYY-MM-DD[THH:MM:SS[.us]]".
    if isinstance(value, str):
        fmt = "%Y-%m-%d"
        if "T" in value:
            fmt += "T%H:%M:%S" + (".%f" if "." in value else "")
        return datetime.strptime(value, fmt)
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def _kept_type(saved: Any, value: Decimal) -> float | int:
    # A number read back from a checkpoint: the int it was saved as when it still holds, else a float.
    return _size(value, type(saved) is int and saved == value)


def _size(quantity: Decimal, as_int: bool) -> float | int:
    if as_int and quantity == quantity.to_integral_value():
        return int(quantity)
    return to_float(quantity)


# Event type -> how the broker applies it to Backtrader (other events change nothing there).
_HANDLERS: dict[type[ExecutionEvent], str] = {
    OrderAccepted: "_apply_accepted",
    OrderFilled: "_apply_fill",
    OrderRejected: "_apply_terminal",
    OrderCancelled: "_apply_terminal",
    OrderExpired: "_apply_terminal",
}
