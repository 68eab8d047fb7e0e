"""The engine-agnostic execution simulator.

``ExecutionSimulator`` owns cash, positions and open orders; it moves orders
through submission, venue arrival, matching against bars, fill reports and
cancels, each leg delayed by simulated latency through a
:class:`~finbot_bt.execution.queue.PendingActionQueue`. It reads no wall clock
and no global random state: the same inputs and seed give the same events.

Timing rules (simulated time):

* ``submit_order(order, t)``: pre-trade checks (validation, trading state, risk,
  funds) run at ``t``; the order reaches the venue at ``t + submission_latency``.
* A bar is matched against orders that reached the venue at or before the
  bar's open (``Bar.open_time``, default: the previous bar's timestamp of that
  symbol). An order arriving inside a bar's interval trades from the next bar.
  With zero latency a market order placed after bar *t* fills at the open of
  bar *t+1*, as Backtrader does.
* A fill happens at the venue at the bar's open time (fills at the open) or at
  the bar's timestamp (fills inside the bar). Its report reaches the account
  ``fill latency`` later (drawn from ``[fill_latency_min, fill_latency_max]``
  with the simulator's RNG); cash, positions and the order's status change
  when the report arrives.
* ``cancel_order(id, t)``: the request reaches the venue at
  ``t + cancel_latency``. If the order filled at the venue before that, the
  cancel is rejected as too late; fills during the cancel window are real. A
  cancel that overtakes its order in flight cancels it on arrival.

The class is a facade: each concern lives in a collaborator of its own, which
it builds and wires together: the order book (:mod:`~finbot_bt.execution.order_book`),
the venue clock and latency legs (:mod:`~finbot_bt.execution.venue`), the
order lifecycle (:mod:`~finbot_bt.execution.lifecycle`), matching against bars
(:mod:`~finbot_bt.execution.bar_matching`), the account's books
(:mod:`~finbot_bt.execution.ledger`), the trading state and pre-trade checks
(:mod:`~finbot_bt.execution.trading_gate`), the market memory
(:mod:`~finbot_bt.execution.market_view`) and the event numbering
(:mod:`~finbot_bt.execution.event_bus`).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, TypeVar, cast, overload

from finbot_bt.contracts.enums import TradingState
from finbot_bt.contracts.events import ExecutionEvent
from finbot_bt.contracts.latency import LatencyConfig, resolve_latency
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.positions import Instrument, Position
from finbot_bt.errors import ConfigError
from finbot_bt.execution.accounting import Portfolio
from finbot_bt.execution.bar_matching import BarMatcher
from finbot_bt.execution.commission import CommissionModel, NoCommission
from finbot_bt.execution.event_bus import EventBus, EventListener, RecordListener
from finbot_bt.execution.fills import FillConfig
from finbot_bt.execution.intake import END_OF_DAY, OrderIntake, day_end
from finbot_bt.execution.ledger import Ledger
from finbot_bt.execution.lifecycle import OrderLifecycle
from finbot_bt.execution.market_view import MarketView
from finbot_bt.execution.order_book import OrderBook
from finbot_bt.execution.slippage import NoSlippage, SlippageModel
from finbot_bt.execution.trading_gate import TradingGate
from finbot_bt.execution.venue import Venue

if TYPE_CHECKING:
    from finbot_bt.contracts.risk import RiskConfig
    from finbot_bt.execution.risk import RiskEngine

__all__ = ["END_OF_DAY", "EventListener", "ExecutionSimulator", "RecordListener", "day_end"]

_T = TypeVar("_T")


class _Delegated(Generic[_T]):
    """A simulator attribute kept by one of its collaborators (read and replaced through the simulator)."""

    def __init__(self, owner: str, attribute: str, doc: str) -> None:
        self.owner, self.attribute, self.__doc__ = owner, attribute, doc

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _Delegated[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> _T | _Delegated[_T]:
        if instance is None:
            return self
        return cast(_T, getattr(getattr(instance, self.owner), self.attribute))

    def __set__(self, instance: object, value: _T) -> None:
        setattr(getattr(instance, self.owner), self.attribute, value)


class ExecutionSimulator:
    """Paper-trading execution simulator; see the module docstring for timing.

    Parameters
    ----------
    initial_cash : Decimal
        Starting cash in quote currency (>= 0).
    latency : LatencyConfig or str or None
        A config, a profile name (``"instant"``, ``"fast"``, ``"normal"``, ``"slow"``)
        or None for instant.
    slippage : SlippageModel, optional
    commission : CommissionModel, optional
    fill : FillConfig, optional
    risk : RiskConfig, optional
    seed : int
        Seed of the simulator's own RNG (fill latency draws).
    simulator_id : str, optional
        Plain name used for order ids and checkpoint folders; default ``"sim"``.
    instruments : iterable of Instrument, optional
        Multipliers and margins; unknown symbols trade as plain stocks.
    retain_history : bool
        Keep finished orders in memory (default True). With False, an order is
        forgotten once it is finished, so memory and checkpoints hold open
        orders only and the history lives in the event journal; then
        :meth:`get_order` and :meth:`orders` know open orders only, duplicate
        ids are detected among open orders only, and a bracket child must be
        submitted while its parent is still open.
    """

    def __init__(
        self,
        initial_cash: Decimal,
        *,
        latency: LatencyConfig | str | None = None,
        slippage: SlippageModel | None = None,
        commission: CommissionModel | None = None,
        fill: FillConfig | None = None,
        risk: RiskConfig | None = None,
        seed: int = 0,
        simulator_id: str | None = None,
        instruments: Iterable[Instrument] = (),
        retain_history: bool = True,
    ) -> None:
        if not isinstance(initial_cash, Decimal) or not initial_cash.is_finite() or initial_cash < 0:
            raise ConfigError(f"initial_cash must be a finite Decimal >= 0, got {initial_cash!r}")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"seed must be an int, got {seed!r}")
        self.simulator_id = _check_simulator_id(simulator_id or "sim")
        self.initial_cash = initial_cash
        slippage, commission, fill = _models(slippage, commission, fill)
        self.seed = seed
        self.retain_history = bool(retain_history)
        self.portfolio = Portfolio(initial_cash, {i.symbol: i for i in instruments})
        self.risk_config = risk
        self.risk = _risk_engine(risk)
        self._fill = fill
        self.events = EventBus()
        self.book = OrderBook(self.simulator_id, self.retain_history)
        self.market = MarketView()
        self.venue = Venue(resolve_latency(latency), random.Random(seed), self.book)
        self.ledger = Ledger(self.portfolio, commission, fill.refuse_unfunded_fills)
        self.lifecycle = OrderLifecycle(self.book, self.venue, self.ledger, self.market, self.events)
        self.matcher = BarMatcher(self.book, self.market, self.venue, self.lifecycle, fill, slippage)
        self.gate = TradingGate(self, self.risk, self.book, self.ledger, self.market, self.events, fill)
        self.intake = OrderIntake(self.book, self.venue, self.gate, self.lifecycle, self.events)
        self.queue = self.venue.queue

    # ------------------------------------------------------------------ models and state
    @property
    def fill(self) -> FillConfig:
        """Fill rules (replaceable: the matcher, the ledger and the funds check follow)."""
        return self._fill

    @fill.setter
    def fill(self, value: FillConfig) -> None:
        self._fill = self.matcher.fill = self.gate.fill = value
        self.ledger.refuse_unfunded = value.refuse_unfunded_fills

    slippage = _Delegated[SlippageModel]("matcher", "slippage", "Slippage model (replaceable).")
    commission = _Delegated[CommissionModel]("ledger", "commission", "Commission model (replaceable).")
    latency = _Delegated[LatencyConfig](
        "venue", "latency", "Latency of the three legs (replaceable: legs sent afterwards follow).")
    clock = _Delegated[datetime | None]("venue", "clock", "Simulated time of the last call (None before the first).")
    rng = _Delegated[random.Random]("venue", "rng", "The simulator's RNG (fill latency draws); its state is checkpointed.")
    trading_state = _Delegated[TradingState]("gate", "state", "ACTIVE, REDUCING (drawdown latch) or HALTED (kill switch).")

    # ------------------------------------------------------------------ events
    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for every event, in order."""
        self.events.listeners.append(listener)

    def add_record_listener(self, listener: EventListener, record: RecordListener) -> None:
        """Add ``listener``, which can take order events unbuilt: while every listener was added so and no
        call collects, ``record(event_type, sequence, working, fields)`` replaces the event (``working``:
        the order's record, read-only; its ``order`` builds the Order). See ``execution/event_bus.py``."""
        self.events.set_record_listener(listener, record)

    def remove_listener(self, listener: EventListener) -> None:
        """Stop calling ``listener``."""
        self.events.remove_listener(listener)

    # ------------------------------------------------------------------ queries
    @property
    def cash(self) -> Decimal:
        """Cash in quote currency, as the account knows it."""
        return self.portfolio.cash

    def next_order_id(self) -> str:
        """A fresh deterministic order id, ``"{simulator_id}-{n}"``."""
        return self.book.next_order_id()

    def get_order(self, order_id: str) -> Order | None:
        """The order as the account knows it, or None if never submitted."""
        return self.book.get(order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders not yet finished, in submission order (optionally one symbol)."""
        return self.book.open_orders(symbol)

    def orders(self) -> list[Order]:
        """Every order ever submitted, in submission order."""
        return self.book.all_orders()

    def get_position(self, symbol: str) -> Position:
        """Position snapshot; flat for symbols never traded."""
        return self.ledger.position(symbol)

    def positions(self) -> dict[str, Position]:
        """Snapshots of every non-flat position."""
        return self.ledger.positions()

    def needs_market_data(self, symbol: str) -> bool:
        """True if a bar of ``symbol`` can change anything: it has open orders, a
        position, or a risk engine watches equity. Adapters may skip other bars."""
        return self.risk is not None or self.book.has_open(symbol) or self.ledger.holds(symbol)

    def needs_full_bar(self, symbol: str) -> bool:
        """True if ``symbol`` has open orders, which match against the bar's open, high,
        low and volume. Otherwise its close is all a bar changes: adapters may pass a
        one-price bar (or a plain Decimal) instead."""
        return self.book.has_open(symbol)

    def last_price(self, symbol: str) -> Decimal | None:
        """Last close seen for ``symbol``, or None."""
        return self.market.last_price.get(symbol)

    def last_prices(self) -> dict[str, Decimal]:
        """Last close of every symbol seen."""
        return dict(self.market.last_price)

    def reference_price(self, order: Order) -> Decimal | None:
        """Price used to value an order before it trades: limit, stop, else last close."""
        return self.market.reference_price(order)

    def get_account_value(self, prices: Mapping[str, Decimal] | None = None) -> Decimal:
        """Equity: cash plus positions at ``prices`` (missing symbols use the last close).

        Raises MarketDataError if a held symbol has no price at all.
        """
        return self.ledger.equity(self.market.last_price, prices)

    equity = get_account_value

    def instrument(self, symbol: str) -> Instrument:
        """Trading terms of ``symbol`` (stock-like unless configured)."""
        return self.portfolio.instrument(symbol)

    def set_instrument(self, instrument: Instrument) -> None:
        """Set the terms of a symbol; refused while it has a position or open orders."""
        symbol = instrument.symbol
        if self.ledger.holds(symbol) or self.book.has_open(symbol):
            raise ConfigError(f"cannot change instrument {symbol!r} while it has a position or open orders")
        self.portfolio.instruments[symbol] = instrument

    def add_cash(self, amount: Decimal) -> None:
        """Deposit (or, negative, withdraw) cash."""
        self.ledger.add_cash(amount)

    # ------------------------------------------------------------------ trading state
    def enable_trading(self, timestamp: datetime | None = None, reason: str = "enabled") -> None:
        """Return to ACTIVE (clears the kill switch and a drawdown latch)."""
        self.gate.enable(self.venue.now(timestamp), reason)

    def disable_trading(
        self,
        reason: str = "kill switch",
        timestamp: datetime | None = None,
        *,
        cancel_open_orders: bool = True,
        flatten: bool = False,
    ) -> None:
        """Kill switch: HALT trading, cancel open orders, optionally flatten positions.

        New orders are rejected with ``risk_trading_disabled`` until
        :meth:`enable_trading`. Flattening submits market orders that close
        every position; they bypass the halt.
        """
        self.intake.kill_switch(reason, self.venue.now(timestamp), cancel_open_orders, flatten)

    @property
    def trading_enabled(self) -> bool:
        """False while HALTED."""
        return self.gate.state is not TradingState.HALTED

    def set_trading_state(self, state: TradingState, reason: str, timestamp: datetime | None = None) -> None:
        """Move to ``state`` (used by the risk layer's drawdown latch)."""
        self.gate.set_state(state, reason, self.venue.now(timestamp))

    # ------------------------------------------------------------------ orders
    def submit_order(
        self, order: Order, timestamp: datetime, *, reference_price: Decimal | None = None,
        exempt: bool = False, funds_price: Decimal | None = None,
        close_session: tuple[datetime, datetime] | None = None, fixed_price: Decimal | None = None,
    ) -> Order:
        """Submit ``order`` at ``timestamp``; return it as the account now knows it.

        Invalid, duplicate, risk-refused or unfunded orders come back REJECTED
        with an ``OrderRejected`` event; nothing raises for business outcomes.
        ``reference_price`` overrides the price used by the funds check and is the
        price a market order fills at under ``market_at_last_close`` (cheat-on-close);
        ``funds_price``, if given, is the funds check's price instead.
        ``close_session`` is ``(created, session_end)`` for a MARKET_ON_CLOSE order
        that follows Backtrader's Close rule instead of ``Bar.session_close``: it is
        tried on every bar of its symbol (a bar passed again included) stamped after
        ``created``; the first one at or after ``session_end`` fills it, at the close
        of the last bar tried before if that bar is past ``session_end``, else at its
        own close. ``fixed_price`` makes a MARKET order a recorded trade (Backtrader's
        order history): it fills in full at that price, unslipped, on the first bar it meets.
        ``exempt`` skips the trading state, risk and funds checks (validation
        still applies): for orders that flatten positions after a kill switch.
        """
        return self.intake.submit(order, timestamp, reference_price=reference_price, exempt=exempt,
                                  funds_price=funds_price, close_session=close_session, fixed_price=fixed_price)

    def send_order(self, order: Order, timestamp: datetime, *, reference_price: Decimal | None = None,
                   exempt: bool = False, funds_price: Decimal | None = None,
                   close_session: tuple[datetime, datetime] | None = None,
                   fixed_price: Decimal | None = None) -> None:
        """:meth:`submit_order` without the returned snapshot: for adapters that follow orders by their events."""
        self.intake.enter(order, timestamp, reference_price=reference_price, exempt=exempt,
                          funds_price=funds_price, close_session=close_session, fixed_price=fixed_price)

    def cancel_order(self, order_id: str, timestamp: datetime) -> Order | None:
        """Request a cancel at ``timestamp``; the outcome arrives as an event.

        Returns the order (PENDING_CANCEL while the request travels), or None
        for an unknown id (a ``CancelRejected`` event says why).
        """
        return self.intake.cancel(order_id, timestamp)

    # ------------------------------------------------------------------ market data
    def process_market_data(
        self, timestamp: datetime, prices: Mapping[str, Bar | Decimal], *, repeated: Collection[str] = (),
    ) -> list[ExecutionEvent]:
        """Advance to ``timestamp`` and match open orders against ``prices``.

        ``prices`` maps symbols to bars (or plain prices, as one-price bars).
        ``repeated`` names symbols whose bar is their last one again (their market had
        no new bar): as Backtrader does, working orders are tried on it again, even those
        placed after it (market orders only under cheat-on-close), and their validity is
        judged by that bar's time. With zero latency every order is tried once, in submission
        order across symbols (Backtrader's single pass); otherwise bars are taken by their open,
        delivering what arrives in between. Returns the events this call produced, in order.
        """
        collected: list[ExecutionEvent] = []
        events = self.events
        outer = events.start_collecting(collected)
        try:
            self.step_market_data(timestamp, prices, repeated=repeated)
        finally:
            events.stop_collecting(outer, collected)
        return collected

    def step_market_data(
        self, timestamp: datetime, prices: Mapping[str, Bar | Decimal], *, repeated: Collection[str] = (),
    ) -> None:
        """:meth:`process_market_data` without collecting its events: for adapters whose listener follows them."""
        market = self.market
        bars = market.coerce_bars(timestamp, prices)
        self.venue.advance_clock(timestamp)
        self.ledger.start_batch()
        matcher = self.matcher
        matcher.run(timestamp, bars, repeated)
        mark_to_market = self.portfolio.mark_to_market
        for symbol, bar in bars.items():
            mark_to_market(symbol, bar.close)
        market.record(bars, matcher.stale)
        gate = self.gate
        if gate.risk is not None:  # the gate only watches equity for a risk engine
            gate.after_bar(timestamp)

    def advance_time(self, timestamp: datetime) -> list[ExecutionEvent]:
        """Move the clock without market data, delivering due actions."""
        return self.process_market_data(timestamp, {})

    def advance_idle(self, timestamp: datetime) -> bool:
        """:meth:`advance_time` when it can only move the clock, done cheaply; else nothing, and False.

        That is when no risk engine watches equity, no order is working and no leg is in
        flight: a market update without bars then moves the clock, starts a new batch of
        funds checks and produces no event. Adapters call it on a cycle without bars.
        """
        if self.risk is not None or self.book.working or self.venue.queue:
            return False
        self.venue.advance_clock(timestamp)
        self.ledger.start_batch()
        return True


def _risk_engine(config: RiskConfig | None) -> RiskEngine | None:
    if config is None:
        return None
    from finbot_bt.execution.risk import RiskEngine

    return RiskEngine(config)


def _models(slippage: SlippageModel | None, commission: CommissionModel | None,
            fill: FillConfig | None) -> tuple[SlippageModel, CommissionModel, FillConfig]:
    slippage = slippage if slippage is not None else NoSlippage()
    commission = commission if commission is not None else NoCommission()
    fill = fill if fill is not None else FillConfig()
    _check_type("slippage", slippage, SlippageModel)
    _check_type("commission", commission, CommissionModel)
    _check_type("fill", fill, FillConfig)
    return slippage, commission, fill


def _check_type(name: str, value: object, expected: type) -> None:
    if not isinstance(value, expected):
        raise ConfigError(f"{name} must be a {expected.__name__}, got {type(value).__name__}")


def _check_simulator_id(value: str) -> str:
    if not isinstance(value, str) or not value or value in (".", "..") or any(
        c in value for c in "/\\\0:"
    ) or not value.isprintable():
        raise ConfigError(f"simulator_id must be a plain name (no path separators), got {value!r}")
    return value
