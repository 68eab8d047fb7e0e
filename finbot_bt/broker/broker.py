"""FinbotBroker: a Backtrader broker backed by the engine-agnostic ExecutionSimulator.

The broker only translates: Backtrader orders become core orders, each bar of
every feed becomes a core ``Bar``, and core events become Backtrader order
notifications. Decisions (fills, costs, risk, latency) live in the core.

FinbotBroker is the ``bt.BrokerBase`` that users construct; each concern of the
adapter lives in a module of its own, and the broker hands its work to them:

* :mod:`~finbot_bt.broker.settings`: BackBroker's parameters and execution setters (a mixin);
* :mod:`~finbot_bt.broker.account`: cash, value and fund mode as BackBroker reports them (a mixin);
* :mod:`~finbot_bt.broker.orders`: Backtrader orders in (translation, brackets, OCO, submission);
* :mod:`~finbot_bt.broker.bars`: each cycle's bars of every feed, to the simulator;
* :mod:`~finbot_bt.broker.delivery`: core events out (order status, executions, notifications);
* :mod:`~finbot_bt.broker.event_log`: the run's events (``broker.events``) kept as plain values;
* :mod:`~finbot_bt.broker.frames`: the event log and equity curve as DataFrames (a mixin);
* :mod:`~finbot_bt.broker.symbols`: feed names and instrument terms;
* :mod:`~finbot_bt.broker.fast_orders`: Backtrader orders built and cloned directly (the same objects, cheaper);
* :mod:`~finbot_bt.broker.history`: ``cerebro.add_order_history``;
* :mod:`~finbot_bt.broker.persistence`: checkpoints and resume.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from datetime import datetime, time
from decimal import Decimal
from typing import Any

import backtrader as bt

from finbot_bt.broker.account import BackBrokerAccount
from finbot_bt.broker.bars import BarFeeder
from finbot_bt.broker.convert import config_decimal
from finbot_bt.broker.data_checks import warn_zero_volume
from finbot_bt.broker.delivery import NotificationDelivery
from finbot_bt.broker.display import broker_html, broker_repr
from finbot_bt.broker.event_log import EventLog
from finbot_bt.broker.fast_orders import clone_order
from finbot_bt.broker.frames import EventFrames
from finbot_bt.broker.history import OrderHistory
from finbot_bt.broker.models import BacktraderCommission
from finbot_bt.broker.orders import EPOCH, OrderRouter, refuse_compensation
from finbot_bt.broker.persistence import BrokerCheckpointer, restore_trades, resume_session
from finbot_bt.broker.settings import BackBrokerSettings
from finbot_bt.broker.symbols import SymbolTable
from finbot_bt.errors import ConfigError
from finbot_bt.execution.commission import CommissionModel
from finbot_bt.execution.simulator import ExecutionSimulator

_NONE_TIMED: Mapping[Any, bool] = {}  # no feed judged yet this cycle (BarFeeder.feed only reads it)


class FinbotBroker(BackBrokerSettings, BackBrokerAccount, EventFrames, bt.BrokerBase):  # type: ignore[misc]
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
        self._history = OrderHistory()  # order histories (kept across start(), as BackBroker)
        self._validate_params()
        super().__init__()

    def _commission_model(self) -> CommissionModel:
        return self._core_commission or BacktraderCommission(resolve=self._symbols.comminfo_for_symbol)

    def _build_simulator(self) -> ExecutionSimulator:
        sim = ExecutionSimulator(
            config_decimal("cash", self.p.cash),
            latency=self._latency,
            slippage=self._slippage_model(),
            commission=self._commission_model(),
            fill=self._fill_config(),
            risk=self.p.risk,
            seed=self.p.seed,
            simulator_id=self.p.simulator_id,
        )
        sim.add_record_listener(self._delivery.on_event, self._delivery.on_record)
        return sim

    # ------------------------------------------------------------------ lifecycle
    def init(self) -> None:
        super().init()
        self._reset()

    def _reset(self) -> None:
        # As BackBroker: the cash keeps the type it was given (an int stays an int) until it changes.
        self.startingcash: float = self.p.cash
        self.cash: float = self.p.cash
        self._symbols = SymbolTable(self.getcommissioninfo)
        self._bars = BarFeeder(self, self._symbols, self._latency)
        self._router = OrderRouter(self, self._symbols, self._bars)
        self._delivery = NotificationDelivery(self, self._router, self._bars, self._latency)
        self.sim = self._build_simulator()
        self.positions: collections.defaultdict[Any, bt.Position] = collections.defaultdict(bt.Position)
        self.notifs: collections.deque[Any] = collections.deque()
        self._cash_addition: collections.deque[float] = collections.deque()
        self._value: float = self.cash
        self._cash_converted: tuple[Decimal | None, float] = (None, 0.0)
        self._fundshares = float(self.cash) / self.p.fundstartval
        self._fundval = float(self.p.fundstartval)
        self.events: EventLog = self._delivery.events
        self.equity_curve: list[tuple[datetime, float, float]] = []
        self._bars_seen = 0
        self.data_warnings: tuple[str, ...] = ()  # ZeroVolumeWarning messages of this run
        self._trades_to_restore: list[dict[str, Any]] = []

    def start(self) -> None:
        super().start()
        for data in self._bars.feeds():
            refuse_compensation(data)
        self._checkpointer: BrokerCheckpointer | None = None
        self.resumed = False
        if self.p.checkpoint_dir is None:
            return
        checkpointer = BrokerCheckpointer(self.p.checkpoint_dir, self.sim.simulator_id, keep_last=self.p.keep_last,
                                          key=self.p.checkpoint_key)
        try:
            if self.p.resume and checkpointer.has_checkpoint():
                resume_session(self, checkpointer, self._bars.feeds())
                checkpointer.skip_processed_bars(self)
            if self.p.journal is not False:
                checkpointer.attach_journal(self.sim, self.p.journal, resume=bool(self.p.resume))
        except BaseException:
            checkpointer.close()
            raise
        self._checkpointer = checkpointer

    def stop(self) -> None:
        super().stop()
        self._router.flush(defer=True)  # orders of the last next() are known to the simulator
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
        self._router.flush(defer=True)
        self._delivery.deliver_deferred()
        return self._checkpointer.save(self)

    # ------------------------------------------------------------------ queries
    def getposition(self, data: Any) -> bt.Position:
        """The live Backtrader position of ``data``."""
        return self.positions[data]

    def get_orders_open(self, safe: bool = False) -> list[Any]:
        """Accepted orders still working (clones if ``safe``)."""
        out = self._router.orders_open()
        return [clone_order(o) for o in out] if safe else out

    def orderstatus(self, order: Any) -> int:
        """Status of ``order`` (BackBroker's version crashes)."""
        return self._router.status_of(order)

    def get_notification(self) -> Any:
        notifs = self.notifs
        return notifs.popleft() if notifs else None

    def notify(self, order: Any) -> None:
        self.notifs.append(clone_order(order))

    # ------------------------------------------------------------------ orders in (broker.orders)
    def buy(self, owner: Any, data: Any, size: float, price: float | None = None, plimit: float | None = None,
            exectype: int | None = None, valid: Any = None, tradeid: int = 0, oco: Any = None,
            trailamount: float | None = None, trailpercent: float | None = None, parent: Any = None,
            transmit: bool = True, histnotify: bool = False, _checksubmit: bool = True,
            **kwargs: Any) -> Any:
        return self._router.place(bt.BuyOrder, oco, kwargs, owner=owner, data=data, size=size, price=price,
                                  pricelimit=plimit, exectype=exectype, valid=valid, tradeid=tradeid,
                                  trailamount=trailamount, trailpercent=trailpercent, parent=parent,
                                  transmit=transmit, histnotify=histnotify)

    def sell(self, owner: Any, data: Any, size: float, price: float | None = None, plimit: float | None = None,
             exectype: int | None = None, valid: Any = None, tradeid: int = 0, oco: Any = None,
             trailamount: float | None = None, trailpercent: float | None = None, parent: Any = None,
             transmit: bool = True, histnotify: bool = False, _checksubmit: bool = True,
             **kwargs: Any) -> Any:
        return self._router.place(bt.SellOrder, oco, kwargs, owner=owner, data=data, size=size, price=price,
                                  pricelimit=plimit, exectype=exectype, valid=valid, tradeid=tradeid,
                                  trailamount=trailamount, trailpercent=trailpercent, parent=parent,
                                  transmit=transmit, histnotify=histnotify)

    def submit(self, order: Any) -> Any:
        """Hold bracket members until a transmitting order arrives, then send the group."""
        return self._router.submit(order)

    def cancel(self, order: Any, bracket: bool = False) -> bool:
        """Request a cancel; returns True if the request was sent (the order was working)."""
        return self._router.cancel(order)

    def add_order_history(self, orders: Any, notify: bool = True) -> None:
        """Replay a history of ``[datetime, size, price(, data)]`` trades (``cerebro.add_order_history``).

        As BackBroker: each becomes a ``Historical`` order of the first strategy when its
        data reaches the datetime, accepted without checks and filled at its price.
        """
        self._history.add(orders, notify)

    # ------------------------------------------------------------------ kill switch
    def disable_trading(self, reason: str = "kill switch", *, cancel_open_orders: bool = True,
                        flatten: bool = False) -> None:
        """Kill switch: halt trading, cancel open orders, optionally flatten every position.

        New orders are then ``Rejected`` (``risk_trading_disabled``) until
        :meth:`enable_trading`. Flattening sends market orders (owned by the first
        strategy) that close each position at the next bar; they pass the halt.
        """
        self._router.flush(defer=True)
        self.sim.disable_trading(reason, self._bars.now or EPOCH, cancel_open_orders=cancel_open_orders)
        if flatten:
            self._router.flatten(self.positions)

    def enable_trading(self, reason: str = "enabled") -> None:
        """Resume trading after the kill switch or a drawdown latch."""
        self.sim.enable_trading(self._bars.now or EPOCH, reason)

    @property
    def trading_state(self) -> str:
        """``"active"``, ``"reducing"`` (after a drawdown breach) or ``"halted"`` (kill switch)."""
        return self.sim.trading_state.value

    # ------------------------------------------------------------------ bar loop
    def next(self) -> None:
        every = self.p.checkpoint_every
        if every is not None and self._bars_seen and self._bars_seen % every == 0 \
                and getattr(self, "_checkpointer", None) is not None:
            self.checkpoint()  # the state at the end of the previous bar's cycle
        if not self._bars_seen:
            self.data_warnings = warn_zero_volume(self._bars.feeds(), self.sim.fill.volume_cap)
        self._bars_seen += 1
        if self._trades_to_restore:
            records, self._trades_to_restore = self._trades_to_restore, []
            restore_trades(self, records)
        delivery, router = self._delivery, self._router
        if delivery.deferred:
            delivery.deliver_deferred()
        timed: Mapping[Any, bool] = _NONE_TIMED
        if router.to_submit:
            # Orders are timed (validity, session end) as they are flushed: judge first whether the
            # feeds' new bars show a daily-declared feed to be intraday (fuzz seed 2225).
            timed = self._bars.time_new_bars()
            router.flush(defer=False)
        if self._history.entries:
            self._history.place_due(self)
        if self._bars.feed(timed) and router.trailing:
            delivery.follow_trails()
        if self._cash_addition:
            self._apply_cash_additions()
        self._refresh_value()
