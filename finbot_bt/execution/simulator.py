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
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

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
from finbot_bt.contracts.latency import LatencyConfig, resolve_latency
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order, evolve_order, trusted_execution
from finbot_bt.contracts.positions import Instrument, Position
from finbot_bt.errors import ConfigError, ContractError, MarketDataError
from finbot_bt.execution.accounting import (
    Portfolio,
    closing_cash,
    opening_cash,
    split_fill,
    updated_position,
)
from finbot_bt.execution.commission import CommissionModel, NoCommission
from finbot_bt.execution.fills import FillConfig
from finbot_bt.execution.matching import Match, MatchState, match_order
from finbot_bt.execution.queue import ActionKind, PendingAction, PendingActionQueue
from finbot_bt.execution.resting import RestingIndex
from finbot_bt.execution.slippage import NoSlippage, SlippageModel
from finbot_bt.execution.validation import validate_order
from finbot_bt.execution.working import VenueFill, WorkingOrder

if TYPE_CHECKING:
    from finbot_bt.contracts.risk import RiskConfig
    from finbot_bt.execution.risk import RiskEngine

ZERO = Decimal(0)
END_OF_DAY = time(23, 59, 59, 999999)
EventListener = Callable[[ExecutionEvent], None]


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
        self.latency = resolve_latency(latency)
        self.slippage: SlippageModel = slippage if slippage is not None else NoSlippage()
        self.commission: CommissionModel = commission if commission is not None else NoCommission()
        self.fill = fill if fill is not None else FillConfig()
        _check_type("slippage", self.slippage, SlippageModel)
        _check_type("commission", self.commission, CommissionModel)
        _check_type("fill", self.fill, FillConfig)
        self.seed = seed
        self.retain_history = bool(retain_history)
        self.rng = random.Random(seed)
        self.portfolio = Portfolio(initial_cash, {i.symbol: i for i in instruments})
        self.queue = PendingActionQueue()
        self.clock: datetime | None = None
        self.trading_state = TradingState.ACTIVE
        self.risk_config = risk
        self.risk: RiskEngine | None = None
        if risk is not None:
            from finbot_bt.execution.risk import RiskEngine

            self.risk = RiskEngine(risk)
        self._orders: dict[str, Order] = {}
        self._working: dict[str, WorkingOrder] = {}
        self._by_symbol: dict[str, dict[str, WorkingOrder]] = {}
        # Price/expiry index per book; rebuilt from the book when out of sync (restore).
        self._resting: dict[str, RestingIndex] = {}
        self._children: dict[str, list[str]] = {}
        self._oco: dict[str, list[str]] = {}
        self._last_bar: dict[str, Bar] = {}
        self._bar_before: dict[str, Bar] = {}  # each symbol's bar before its last one
        self._last_price: dict[str, Decimal] = {}
        self._order_counter = 0
        self._event_sequence = 0
        self._working_sequence = 0
        self._listeners: list[EventListener] = []
        self._collect: list[ExecutionEvent] | None = None
        self._batch_cash: Decimal | None = None
        self._batch_positions: dict[str, tuple[Decimal, Decimal]] = {}
        self._bypass_checks = False
        self._stale: set[str] = set()
        # Children whose parent filled during this market-data call: BackBroker activates them
        # at its next cycle, so they are not tried before the next call.
        self._activated: set[str] = set()
        self._in_pass = False  # inside the matching pass (orders tried in sequence)

    # ------------------------------------------------------------------ events
    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for every event, in order."""
        self._listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    def _emit(self, event_type: type[Any], **fields: Any) -> Any:
        self._event_sequence += 1
        event = event_type(sequence=self._event_sequence, **fields)
        if self._collect is not None:
            self._collect.append(event)
        for listener in self._listeners:
            listener(event)
        return event

    # ------------------------------------------------------------------ queries
    @property
    def cash(self) -> Decimal:
        """Cash in quote currency, as the account knows it."""
        return self.portfolio.cash

    def next_order_id(self) -> str:
        """A fresh deterministic order id, ``"{simulator_id}-{n}"``."""
        self._order_counter += 1
        return f"{self.simulator_id}-{self._order_counter}"

    def get_order(self, order_id: str) -> Order | None:
        """The order as the account knows it, or None if never submitted."""
        return self._orders.get(order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders not yet finished, in submission order (optionally one symbol)."""
        if symbol is None:
            return [w.order for w in self._working.values()]
        return [w.order for w in self._by_symbol.get(symbol, {}).values()]

    def orders(self) -> list[Order]:
        """Every order ever submitted, in submission order."""
        return list(self._orders.values())

    def get_position(self, symbol: str) -> Position:
        """Position snapshot; flat for symbols never traded."""
        pos = self.portfolio.positions.get(symbol)
        return pos.snapshot() if pos is not None else Position(symbol=symbol)

    def positions(self) -> dict[str, Position]:
        """Snapshots of every non-flat position."""
        return {s: p.snapshot() for s, p in self.portfolio.positions.items() if p.quantity != 0}

    def needs_market_data(self, symbol: str) -> bool:
        """True if a bar of ``symbol`` can change anything: it has open orders, a
        position, or a risk engine watches equity. Adapters may skip other bars."""
        if self.risk is not None or self._by_symbol.get(symbol):
            return True
        pos = self.portfolio.positions.get(symbol)
        return pos is not None and pos.quantity != 0

    def needs_full_bar(self, symbol: str) -> bool:
        """True if ``symbol`` has open orders, which match against the bar's open, high,
        low and volume. Otherwise its close is all a bar changes: adapters may pass a
        one-price bar (or a plain Decimal) instead."""
        return bool(self._by_symbol.get(symbol))

    def last_price(self, symbol: str) -> Decimal | None:
        """Last close seen for ``symbol``, or None."""
        return self._last_price.get(symbol)

    def last_prices(self) -> dict[str, Decimal]:
        """Last close of every symbol seen."""
        return dict(self._last_price)

    def get_account_value(self, prices: Mapping[str, Decimal] | None = None) -> Decimal:
        """Equity: cash plus positions at ``prices`` (missing symbols use the last close).

        Raises MarketDataError if a held symbol has no price at all.
        """
        merged = dict(self._last_price)
        if prices:
            merged.update(prices)
        try:
            return self.portfolio.equity(merged)
        except KeyError as exc:
            raise MarketDataError(f"no price known for held symbol {exc.args[0]!r}") from None

    equity = get_account_value

    def instrument(self, symbol: str) -> Instrument:
        """Trading terms of ``symbol`` (stock-like unless configured)."""
        return self.portfolio.instrument(symbol)

    def set_instrument(self, instrument: Instrument) -> None:
        """Set the terms of a symbol; refused while it has a position or open orders."""
        symbol = instrument.symbol
        pos = self.portfolio.positions.get(symbol)
        if (pos is not None and pos.quantity != 0) or self._by_symbol.get(symbol):
            raise ConfigError(f"cannot change instrument {symbol!r} while it has a position or open orders")
        self.portfolio.instruments[symbol] = instrument

    def add_cash(self, amount: Decimal) -> None:
        """Deposit (or, negative, withdraw) cash."""
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise ConfigError(f"amount must be a finite Decimal, got {amount!r}")
        self.portfolio.cash += amount

    # ------------------------------------------------------------------ trading state
    def enable_trading(self, timestamp: datetime | None = None, reason: str = "enabled") -> None:
        """Return to ACTIVE (clears the kill switch and a drawdown latch)."""
        ts = self._now(timestamp)
        if self.risk is not None:
            self.risk.reset_latch(self, ts)
        self._set_state(TradingState.ACTIVE, reason, ts)

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
        ts = self._now(timestamp)
        self._set_state(TradingState.HALTED, reason, ts)
        if cancel_open_orders:
            for working in list(self._working.values()):
                self._venue_terminate(working, OrderStatus.CANCELLED, ts, "kill switch")
        if flatten:
            self._bypass_checks = True
            try:
                for symbol, pos in sorted(self.portfolio.positions.items()):
                    if pos.quantity == 0:
                        continue
                    side = OrderSide.SELL if pos.quantity > 0 else OrderSide.BUY
                    self.submit_order(
                        Order(order_id=self.next_order_id(), symbol=symbol, side=side,
                              order_type=OrderType.MARKET, quantity=abs(pos.quantity)),
                        ts,
                    )
            finally:
                self._bypass_checks = False

    @property
    def trading_enabled(self) -> bool:
        """False while HALTED."""
        return self.trading_state is not TradingState.HALTED

    def set_trading_state(self, state: TradingState, reason: str, timestamp: datetime | None = None) -> None:
        """Move to ``state`` (used by the risk layer's drawdown latch)."""
        self._set_state(state, reason, self._now(timestamp))

    def _set_state(self, state: TradingState, reason: str, ts: datetime) -> None:
        previous = self.trading_state
        if previous is state:
            return
        self.trading_state = state
        self._emit(TradingStateChanged, timestamp=ts, previous=previous, state=state, reason=reason)

    def _now(self, timestamp: datetime | None) -> datetime:
        if timestamp is None:
            if self.clock is None:
                raise MarketDataError("no timestamp given and the simulator clock has not started")
            return self.clock
        self._advance_clock(timestamp)
        return timestamp

    def _advance_clock(self, timestamp: datetime) -> None:
        if not isinstance(timestamp, datetime):
            raise MarketDataError(f"timestamp must be a datetime, got {timestamp!r}")
        if self.clock is not None and timestamp < self.clock:
            raise MarketDataError(
                f"time went backwards: {timestamp.isoformat()} is before the simulator clock "
                f"{self.clock.isoformat()}"
            )
        self.clock = timestamp

    # ------------------------------------------------------------------ submit
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
        if not isinstance(order, Order):
            raise ContractError(f"submit_order expects an Order, got {type(order).__name__}")
        if exempt and not self._bypass_checks:
            self._bypass_checks = True
            try:
                return self.submit_order(order, timestamp, reference_price=reference_price,
                                         funds_price=funds_price, close_session=close_session,
                                         fixed_price=fixed_price)
            finally:
                self._bypass_checks = False
        self._advance_clock(timestamp)
        if order.order_id in self._orders:
            dup = replace(order, status=OrderStatus.REJECTED, created_at=order.created_at or timestamp)
            self._emit(OrderRejected, timestamp=timestamp, order=dup,
                       reason=RejectionReason.DUPLICATE_ORDER,
                       message=f"order id {order.order_id!r} was already used")
            return dup
        if order.status is not OrderStatus.NEW:
            raise ContractError(f"only NEW orders can be submitted; {order.order_id!r} is {order.status.value}")
        created_at = order.created_at or timestamp
        expire_at = order.expire_at
        if order.time_in_force is TimeInForce.DAY and expire_at is None:
            expire_at = day_end(timestamp)
        refusal = self._pre_trade(order, timestamp, reference_price if funds_price is None else funds_price)
        if refusal is not None:
            reason, message = refusal
            rejected = evolve_order(order, created_at=created_at, expire_at=expire_at,
                                    status=OrderStatus.REJECTED, rejection_reason=reason,
                                    rejection_message=message)
            if self.retain_history:
                self._orders[order.order_id] = rejected
            self._emit(OrderRejected, timestamp=timestamp, order=rejected, reason=reason, message=message)
            if order.oco_group is not None:
                self._cancel_group(self._oco.get(order.oco_group, []), order.order_id, timestamp, "oco")
            if order.parent_id is not None:
                # A bracket that cannot place one of its exits is not entered at all (BackBroker
                # cancels the whole bracket): never leave the entry working unprotected.
                parent = self._working.get(order.parent_id)
                if parent is not None and parent.terminal is None and parent.venue_filled == 0:
                    self._venue_terminate(parent, OrderStatus.CANCELLED, timestamp, "bracket child rejected")
            return rejected
        order = evolve_order(order, created_at=created_at, expire_at=expire_at, status=OrderStatus.SUBMITTED,
                             submitted_at=timestamp)
        self._orders[order.order_id] = order
        working = WorkingOrder(order, _match_state(order), timestamp, self._working_sequence)
        working.reference_price = reference_price
        if fixed_price is not None and order.order_type is OrderType.MARKET:
            working.fixed_price = fixed_price
        if close_session is not None and order.order_type is OrderType.MARKET_ON_CLOSE:
            working.close_after, working.session_end = close_session
        self._working_sequence += 1
        if order.parent_id is not None:
            parent_order = self._orders.get(order.parent_id)
            working.active = parent_order is not None and parent_order.status is OrderStatus.FILLED
        self._working[order.order_id] = working
        book = self._by_symbol.setdefault(order.symbol, {})
        book[order.order_id] = working
        index = self._resting.get(order.symbol)
        if index is None or not index.track(book, working):
            self._resting[order.symbol] = RestingIndex(book)
        if order.oco_group is not None:
            self._oco.setdefault(order.oco_group, []).append(order.order_id)
        if order.parent_id is not None:
            self._children.setdefault(order.parent_id, []).append(order.order_id)
        self._emit(OrderSubmitted, timestamp=timestamp, order=order)
        self.queue.add_action(timestamp + self.latency.submission_latency, ActionKind.SUBMIT, order.order_id)
        self._drain(timestamp)
        return working.order

    def _pre_trade(
        self, order: Order, ts: datetime, reference_price: Decimal | None
    ) -> tuple[RejectionReason, str] | None:
        invalid = validate_order(order)
        if invalid is not None:
            return invalid
        if order.parent_id is not None:
            parent = self._orders.get(order.parent_id)
            # A child of a filled parent is active at once (BackBroker never activates it).
            if parent is None or (parent.status.is_terminal and parent.status is not OrderStatus.FILLED):
                return (RejectionReason.PARENT_INACTIVE,
                        f"parent order {order.parent_id!r} is unknown or no longer working")
        if self._bypass_checks:
            return None
        if self.trading_state is TradingState.HALTED:
            return (RejectionReason.RISK_TRADING_DISABLED, "trading is disabled (kill switch); "
                    "call enable_trading() to resume")
        if self.trading_state is TradingState.REDUCING and not self._reduces_position(order) \
                and not (self.risk is not None and self.risk.adds_nothing(order, self)):  # linked exits count once
            return (RejectionReason.RISK_DRAWDOWN_LIMIT,
                    "trading is latched to reducing-only after a drawdown breach; "
                    f"{order.side.value} {order.quantity} {order.symbol} would not reduce the position")
        if self.risk is not None:
            refusal = self.risk.check_order(order, self, ts)
            if refusal is not None:
                return refusal
        if self.fill.check_funds_on_submit:
            return self._check_funds(order, reference_price)
        return None

    def _reduces_position(self, order: Order) -> bool:
        pos = self.portfolio.positions.get(order.symbol)
        quantity = pos.quantity if pos is not None else ZERO
        pending = sum(
            (w.order.signed_quantity - (w.venue_filled if w.order.side is OrderSide.BUY else -w.venue_filled))
            for w in self._by_symbol.get(order.symbol, {}).values()
        )
        after = quantity + pending + order.signed_quantity
        return abs(after) <= abs(quantity + pending) and (after == 0 or (after > 0) == (quantity > 0))

    def reference_price(self, order: Order) -> Decimal | None:
        """Price used to value an order before it trades: limit, stop, else last close."""
        if order.order_type is OrderType.LIMIT:
            return order.limit_price
        if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP,
                                OrderType.TRAILING_STOP_LIMIT) and order.stop_price is not None:
            return order.stop_price
        return self._last_price.get(order.symbol)

    def _check_funds(self, order: Order, reference_price: Decimal | None) -> tuple[RejectionReason, str] | None:
        price = reference_price if reference_price is not None else self.reference_price(order)
        if price is None:
            return None  # no price yet: the fill-time check decides
        cash = self._batch_cash if self._batch_cash is not None else self.portfolio.cash
        pos = self.portfolio.positions.get(order.symbol)
        quantity, avg = self._batch_positions.get(
            order.symbol, (pos.quantity, pos.avg_price) if pos is not None else (ZERO, ZERO)
        )
        inst = self.portfolio.instrument(order.symbol)
        signed = order.signed_quantity
        closed, opened = split_fill(quantity, signed)
        first = True
        if closed != 0:
            cash += closing_cash(inst, closed, avg, price)
            cash -= self.commission.commission(abs(closed), price, inst, True)
            first = False
        if opened != 0:
            cash -= opening_cash(inst, opened, price)
            cash -= self.commission.commission(abs(opened), price, inst, first)
        if cash < 0:
            return (RejectionReason.INSUFFICIENT_FUNDS,
                    f"insufficient funds: {order.side.value} {order.quantity} {order.symbol} at "
                    f"{price} needs more than the available cash (short by {-cash})")
        self._batch_cash = cash
        self._batch_positions[order.symbol] = updated_position(quantity, avg, signed, price)
        return None

    # ------------------------------------------------------------------ cancel
    def cancel_order(self, order_id: str, timestamp: datetime) -> Order | None:
        """Request a cancel at ``timestamp``; the outcome arrives as an event.

        Returns the order (PENDING_CANCEL while the request travels), or None
        for an unknown id (a ``CancelRejected`` event says why).
        """
        self._advance_clock(timestamp)
        order = self._orders.get(order_id)
        if order is None:
            self._emit(CancelRejected, timestamp=timestamp, order_id=order_id,
                       reason=RejectionReason.UNKNOWN_ORDER, message=f"no order with id {order_id!r}")
            return None
        working = self._working.get(order_id)
        if working is None or order.status.is_terminal:
            self._emit(CancelRejected, timestamp=timestamp, order_id=order_id, order=order,
                       reason=RejectionReason.TOO_LATE_TO_CANCEL,
                       message=f"order {order_id!r} is already {order.status.value}")
            return order
        if order.status is OrderStatus.PENDING_CANCEL:
            self._emit(CancelRejected, timestamp=timestamp, order_id=order_id, order=order,
                       reason=RejectionReason.INVALID_ORDER,
                       message=f"a cancel for order {order_id!r} is already on its way")
            return order
        self._update(working, status=OrderStatus.PENDING_CANCEL)
        self.queue.add_action(timestamp + self.latency.cancel_latency, ActionKind.CANCEL, order_id)
        self._drain(timestamp)
        return working.order

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
        bars = self._coerce_bars(timestamp, prices)
        self._advance_clock(timestamp)
        collected: list[ExecutionEvent] = []
        outer = self._collect
        self._collect = collected
        try:
            self._batch_cash = None
            self._batch_positions = {}
            self._activated.clear()
            stale = self._stale
            stale.clear()
            stale.update(symbol for symbol in repeated if symbol in bars)
            open_times = {symbol: self._open_time(symbol, bar) for symbol, bar in bars.items()}
            if self.latency.is_instant:
                # Nothing travels: one pass over every bar in submission order, as BackBroker
                # walks its pending queue once a cycle whatever the feeds' times.
                self._match_bars(bars, open_times)
            else:
                groups: dict[datetime, dict[str, Bar]] = {}
                for symbol, bar in bars.items():
                    groups.setdefault(open_times[symbol], {})[symbol] = bar
                for open_time in sorted(groups):
                    self._drain(open_time)
                    self._match_bars(groups[open_time], open_times)
            self._drain(timestamp)
            self._expire_all(timestamp, {symbol: bars[symbol].timestamp for symbol in self._stale})
            for symbol, bar in bars.items():
                self.portfolio.mark_to_market(symbol, bar.close)
                if symbol not in self._stale and symbol in self._last_bar:
                    self._bar_before[symbol] = self._last_bar[symbol]
                self._last_bar[symbol] = bar
                self._last_price[symbol] = bar.close
            if self.risk is not None:
                breach = self.risk.on_market_data(self, timestamp)
                if breach is not None:
                    self._emit(RiskLimitBreached, timestamp=timestamp, rule=breach.rule,
                               reason=breach.reason, message=breach.message)
                    if self.trading_state is TradingState.ACTIVE:
                        self._set_state(breach.state, breach.message, timestamp)
        finally:
            self._collect = outer
            if outer is not None:
                outer.extend(collected)
        return collected

    def advance_time(self, timestamp: datetime) -> list[ExecutionEvent]:
        """Move the clock without market data, delivering due actions."""
        return self.process_market_data(timestamp, {})

    def _coerce_bars(self, timestamp: datetime, prices: Mapping[str, Bar | Decimal]) -> dict[str, Bar]:
        if not isinstance(timestamp, datetime):
            raise MarketDataError(f"timestamp must be a datetime, got {timestamp!r}")
        bars: dict[str, Bar] = {}
        for symbol, value in prices.items():
            if isinstance(value, Bar):
                if value.timestamp > timestamp:
                    raise MarketDataError(
                        f"bar for {symbol!r} is stamped {value.timestamp} after the update time {timestamp}"
                    )
                bars[symbol] = value
            elif isinstance(value, Decimal):
                if not value.is_finite() or value <= 0:
                    raise MarketDataError(f"price for {symbol!r} must be a positive finite Decimal, got {value}")
                bars[symbol] = Bar.from_price(value, timestamp)
            else:
                raise MarketDataError(
                    f"price for {symbol!r} must be a Bar or a Decimal, got {type(value).__name__}"
                )
        return bars

    def _open_time(self, symbol: str, bar: Bar) -> datetime:
        if bar.open_time is not None:
            return bar.open_time
        last = self._last_bar.get(symbol)
        return last.timestamp if last is not None else bar.timestamp

    def _resting_index(self, symbol: str) -> RestingIndex | None:
        book = self._by_symbol.get(symbol)
        if not book:
            return None
        index = self._resting.get(symbol)
        if index is None or not index.in_sync(book):
            index = self._resting[symbol] = RestingIndex(book)
        return index

    def _expire_all(self, now: datetime, stale_times: Mapping[str, datetime]) -> None:
        # A symbol whose bar was passed again has not moved on: its orders keep their validity
        # until its market time does (Backtrader compares `valid` with the order's own data).
        expired: list[WorkingOrder] = []
        indexes: list[RestingIndex] = []
        for symbol in list(self._by_symbol):
            index = self._resting_index(symbol)
            if index is not None:
                indexes.append(index)
                expired.extend(index.pop_expired(stale_times.get(symbol, now)))
        expired.sort(key=_by_sequence)
        self._in_pass = True
        try:
            for working in expired:
                expire_at = working.order.expire_at
                when = stale_times.get(working.order.symbol, now)
                if (expire_at is not None and when > expire_at and working.terminal is None
                        and working.live_from is not None):
                    self._venue_terminate(working, OrderStatus.EXPIRED, now, "expired")
        finally:
            self._in_pass = False
            for index in indexes:
                index.refile([])

    def _match_bars(self, bars: dict[str, Bar], open_times: Mapping[str, datetime]) -> None:
        """Try every open order on these bars' symbols, in submission order.

        Like BackBroker's single pass over its pending queue: each order is
        checked once (expiry first, then its fill rule), across symbols in
        the order the orders were submitted.
        """
        # Only orders the bar can reach, market-like orders and expired ones can
        # change on this bar (see resting.py); the others are not visited.
        candidates: list[WorkingOrder] = []
        indexes: list[RestingIndex] = []
        for symbol, bar in bars.items():
            index = self._resting_index(symbol)
            if index is not None:
                indexes.append(index)
                candidates.extend(index.pop_candidates(bar))
        if len(indexes) > 1:
            candidates.sort(key=_by_sequence)
        self._in_pass = True
        try:
            self._match_candidates(candidates, bars, open_times)
        finally:
            self._in_pass = False
            for index in indexes:
                index.refile(candidates)

    def _match_candidates(self, candidates: list[WorkingOrder], bars: dict[str, Bar],
                          open_times: Mapping[str, datetime]) -> None:
        used: dict[str, Decimal] = {}
        for working in candidates:
            if working.terminal is not None:
                continue
            bar = bars[working.order.symbol]
            open_time = open_times[working.order.symbol]
            expire_at = working.order.expire_at
            if expire_at is not None and bar.timestamp > expire_at and working.live_from is not None:
                self._venue_terminate(working, OrderStatus.EXPIRED, bar.timestamp, "expired")
                continue
            if working.order.order_id in self._activated:
                continue  # activated by its parent's fill in this pass: it can expire, not yet trade
            live_from = working.live_from
            if working.session_end is not None:
                if live_from is None or not working.active:
                    continue  # Backtrader's Close rule decides from the bar's time
            elif working.order.symbol in self._stale:
                # The symbol's last bar, passed again (its market had no new bar): like BackBroker,
                # working orders are tried on it again, a market order only under cheat-on-close or
                # if that bar came after it (a rest the volume cap left, as BackBroker fills it again;
                # a part filled means so even when feeds' times map that bar to the order's time).
                if live_from is None or not working.active or (
                        working.match.order_type is OrderType.MARKET and working.fixed_price is None
                        and not self.fill.market_at_last_close and not self.fill.market_on_repeated_bar
                        and bar.timestamp <= live_from and working.venue_filled == 0):
                    continue
            elif live_from is None or live_from > open_time or not working.active:
                continue
            used[working.order.symbol] = self._match_one(
                working, bar, open_time, used.get(working.order.symbol, ZERO)
            )

    def _match_one(self, working: WorkingOrder, bar: Bar, open_time: datetime, used: Decimal) -> Decimal:
        order = working.order
        state = working.match
        # A trailing stop-limit stops trailing once triggered (from the next bar on, as BackBroker).
        trails = order.order_type in _TRAILING and not state.triggered
        match = self._find_match(working, bar)
        filled = ZERO
        if match is not None and not match.at_open and match.fill_time is None \
                and order.status is OrderStatus.PENDING_CANCEL and self._cancel_due_before(order, bar.timestamp):
            # A fill inside the bar happens at the bar's time: a cancel reaching the venue
            # earlier in the bar wins (it is delivered when the queue is drained to the bar's time).
            match = None
        if match is not None:
            remaining = working.venue_remaining
            quantity = remaining
            cap = self.fill.volume_cap
            if cap is not None:
                source = bar
                if match.fill_time is not None and working.session_end is not None:
                    # Backtrader's Close filled at the close noted before: sized on the bar before (ago=-1),
                    # the one before the last for a bar passed again
                    before = self._bar_before if order.symbol in self._stale else self._last_bar
                    source = before.get(order.symbol, bar)
                quantity = cap.available(order, remaining, match.price, source, used)
            if order.time_in_force is TimeInForce.FOK and quantity < remaining:
                quantity = ZERO
            if quantity > 0:
                price: Decimal | None = match.price
                if match.slippable:
                    price = self.slippage.apply(order.side, match.price, match.bound, quantity, bar,
                                                at_open=match.at_open, limit=match.limit)
                    if price is not None and not price > 0:
                        price = None  # slipped through zero (allow_outside_bar): no fill on this bar
                if price is not None:
                    used += quantity
                    filled = quantity
                    liquidity = (LiquiditySide.MAKER if not match.at_open and not match.slippable
                                 else LiquiditySide.TAKER)
                    if match.fill_time is not None:
                        fill_time = match.fill_time
                    else:
                        fill_time = open_time if match.at_open else bar.timestamp
                    if working.live_from is not None and fill_time < working.live_from:
                        fill_time = working.live_from  # a bar passed again: the fill happens now
                    self._venue_fill(working, VenueFill(quantity=quantity, price=price,
                                                        requested_price=match.price, timestamp=fill_time,
                                                        liquidity=liquidity))
        if working.terminal is None and working.venue_remaining > 0:
            if trails and state.trail_adjust(bar.close):
                self._update(working, stop_price=state.stop, limit_price=state.limit)
            if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                reason = "unfilled remainder of an IOC order" if filled > 0 else "not fillable at once"
                self._venue_terminate(working, OrderStatus.CANCELLED, bar.timestamp, reason)
        return used

    def _cancel_due_before(self, order: Order, ts: datetime) -> bool:
        order_id = order.order_id
        return any(action.kind is ActionKind.CANCEL and action.order_id == order_id and action.due_time < ts
                   for action in self.queue)

    def _find_match(self, working: WorkingOrder, bar: Bar) -> Match | None:
        kind = working.match.order_type
        symbol = working.order.symbol
        if working.fixed_price is not None:
            price = working.fixed_price
            return Match(price, price, False, False, slippable=False)
        if kind is OrderType.MARKET and self.fill.market_at_last_close:
            # Cheat-on-close: the close the order was placed against (its reference price),
            # else the last close seen before this bar.
            last = working.reference_price
            if last is None:
                last = self._last_price.get(symbol)
            if last is not None:
                bound = bar.high if working.order.side is OrderSide.BUY else bar.low
                return Match(last, bound, True, False, fill_time=working.live_from)
        if kind is OrderType.MARKET_ON_CLOSE and working.session_end is not None:
            return _backtrader_close(working, bar)
        if kind is OrderType.MARKET_ON_CLOSE and not bar.session_close:
            previous = self._last_bar.get(symbol)
            live_from = working.live_from
            if previous is not None and live_from is not None and bar.timestamp.date() > live_from.date() \
                    and previous.timestamp >= live_from:
                # The session closed between bars: fill at the last close of the order's day.
                return Match(previous.close, previous.close, False, False, slippable=False,
                             fill_time=previous.timestamp)
        return match_order(working.match, bar)

    # ------------------------------------------------------------------ venue side
    def _venue_fill(self, working: WorkingOrder, fill: VenueFill) -> None:
        working.venue_filled += fill.quantity
        working.in_flight_reports += 1
        if working.venue_remaining <= 0:
            working.terminal = OrderStatus.FILLED.value
        latency = self._draw_fill_latency()
        if latency:
            self.queue.add_action(fill.timestamp + latency, ActionKind.FILL_REPORT, working.order.order_id, fill)
        else:
            # Zero fill latency: the account books the fill before the pass moves on,
            # so later orders in the same bar see its cash (BackBroker's order of events).
            self._report_fill(working, fill, fill.timestamp)
        order = working.order
        if order.oco_group is not None:
            self._cancel_group(self._oco.pop(order.oco_group, []), order.order_id, fill.timestamp, "oco",
                               working.sequence)
        if working.terminal == OrderStatus.FILLED.value:
            self._on_venue_filled(working, fill.timestamp)

    def _on_venue_filled(self, working: WorkingOrder, ts: datetime) -> None:
        order = working.order
        for child_id in self._children.get(order.order_id, ()):
            child = self._working.get(child_id)
            if child is not None and not child.active:
                child.active = True
                # Children trade from the next bar: the parent's bar is done.
                if child.live_from is not None and self.clock is not None:
                    child.live_from = max(child.live_from, self.clock)
                if self._in_pass:
                    self._activated.add(child_id)
        if order.parent_id is not None:
            self._cancel_group(self._children.get(order.parent_id, []), order.order_id, ts, "bracket")

    def _cancel_group(self, ids: Iterable[str], except_id: str, ts: datetime, reason: str,
                      sequence: int | None = None) -> None:
        # Bracket siblings are cancelled oldest first. OCO siblings in the order BackBroker walks its
        # pending queue backwards: outside the matching pass newest first; inside it (a fill or an
        # expiry) the members already tried this pass come first, newest first, then the others.
        members = list(ids)
        if reason == "oco":
            members.reverse()
            if self._in_pass and sequence is not None:
                tried = [i for i in members if i in self._working and self._working[i].sequence < sequence]
                members = tried + [i for i in members if i not in tried]
        cancelled: list[WorkingOrder] = []
        for other_id in members:
            if other_id == except_id:
                continue
            other = self._working.get(other_id)
            if other is not None and other.terminal is None:
                # The whole group first, then the bracket children of the members it cancelled
                # (BackBroker's OCO check cancels the group alone; see deliberate difference 11).
                self._venue_terminate(other, OrderStatus.CANCELLED, ts, reason, children=reason != "oco")
                cancelled.append(other)
        if reason == "oco":
            for other in cancelled:
                self._cancel_children(other.order.order_id, ts, "parent " + OrderStatus.CANCELLED.value)

    def _cancel_children(self, order_id: str, ts: datetime, reason: str) -> None:
        for child_id in self._children.get(order_id, ()):
            child = self._working.get(child_id)
            if child is not None and child.terminal is None:
                self._venue_terminate(child, OrderStatus.CANCELLED, ts, reason)

    def _venue_terminate(self, working: WorkingOrder, status: OrderStatus, ts: datetime, reason: str,
                         children: bool = True) -> None:
        """Stop ``working`` at the venue; the account hears of it after pending fill reports."""
        if working.terminal is not None:
            return
        working.terminal = status.value
        working.terminal_reason = reason
        order = working.order
        if working.in_flight_reports == 0:
            self._finish(working, ts)
        # OCO members before bracket children (BackBroker's _ococheck, then _bracketize).
        if order.oco_group is not None and status is not OrderStatus.FILLED:
            self._cancel_group(self._oco.get(order.oco_group, []), order.order_id, ts, "oco", working.sequence)
        if children:
            self._cancel_children(order.order_id, ts, "parent " + status.value)
        if order.parent_id is not None and status is not OrderStatus.FILLED:
            parent = self._working.get(order.parent_id)
            if parent is None:  # parent done: a child leaving takes its siblings with it
                self._cancel_group(self._children.get(order.parent_id, []), order.order_id, ts, "bracket")
            elif parent.terminal is None:
                # Parent still working (or partly filled): the whole bracket goes, as with BackBroker.
                self._venue_terminate(parent, OrderStatus.CANCELLED, ts, "bracket")

    def _finish(self, working: WorkingOrder, ts: datetime) -> None:
        if working.terminal is None:
            return
        status = OrderStatus(working.terminal)
        order = working.order
        if status is OrderStatus.FILLED:
            self._retire(working)
            return
        if status is OrderStatus.CANCELLED:
            self._update(working, status=OrderStatus.CANCELLED, cancelled_at=ts)
            self._emit(OrderCancelled, timestamp=ts, order=working.order, reason=working.terminal_reason)
        elif status is OrderStatus.EXPIRED:
            self._update(working, status=OrderStatus.EXPIRED, cancelled_at=ts)
            self._emit(OrderExpired, timestamp=ts, order=working.order)
        elif status is OrderStatus.REJECTED:
            self._update(working, status=OrderStatus.REJECTED)
            self._emit(OrderRejected, timestamp=ts, order=working.order,
                       reason=order.rejection_reason or RejectionReason.INSUFFICIENT_FUNDS,
                       message=working.terminal_reason)
        self._retire(working)

    def _retire(self, working: WorkingOrder) -> None:
        order_id = working.order.order_id
        self._working.pop(order_id, None)
        if not self.retain_history:
            self._orders.pop(order_id, None)
        book = self._by_symbol.get(working.order.symbol)
        if book is not None:
            book.pop(order_id, None)
            index = self._resting.get(working.order.symbol)
            if index is not None:
                index.remove(working)
            if not book:
                del self._by_symbol[working.order.symbol]
        # Groups are looked up by id; drop them once every member is finished.
        group = working.order.oco_group
        if group is not None and not any(i in self._working for i in self._oco.get(group, ())):
            self._oco.pop(group, None)
        parent_id = working.order.parent_id
        if parent_id is not None and parent_id not in self._working and not any(
            i in self._working for i in self._children.get(parent_id, ())
        ):
            self._children.pop(parent_id, None)
        if parent_id is None and not any(i in self._working for i in self._children.get(order_id, ())):
            self._children.pop(order_id, None)

    def _draw_fill_latency(self) -> timedelta:
        low, high = self.latency.fill_latency_min, self.latency.fill_latency_max
        if low == high:
            return low
        span = (high - low) // timedelta(microseconds=1)
        return low + timedelta(microseconds=self.rng.randint(0, span))

    # ------------------------------------------------------------------ actions
    def _drain(self, until: datetime) -> None:
        queue = self.queue
        while True:
            action = queue.pop_due(until)
            if action is None:
                return
            self._dispatch(action)

    def _dispatch(self, action: PendingAction) -> None:
        working = self._working.get(action.order_id)
        if working is None:
            order = self._orders.get(action.order_id)
            if action.kind is ActionKind.CANCEL and order is not None and order.status is OrderStatus.FILLED:
                self._emit(CancelRejected, timestamp=action.due_time, order_id=order.order_id, order=order,
                           reason=RejectionReason.TOO_LATE_TO_CANCEL,
                           message=f"order {order.order_id!r} filled before the cancel reached the venue")
            return
        if action.kind is ActionKind.SUBMIT:
            self._arrive(working, action.due_time)
        elif action.kind is ActionKind.CANCEL:
            self._cancel_arrives(working, action.due_time)
        else:
            self._report_fill(working, action.payload, action.due_time)

    def _arrive(self, working: WorkingOrder, ts: datetime) -> None:
        working.live_from = ts
        if working.cancel_at_venue:
            working.terminal = OrderStatus.CANCELLED.value
            working.terminal_reason = "user"
            self._finish(working, ts)
            return
        if working.order.status is OrderStatus.SUBMITTED:
            self._update(working, status=OrderStatus.ACCEPTED, accepted_at=ts)
        else:  # PENDING_CANCEL: accepted while the cancel is on its way
            self._update(working, accepted_at=ts)
        if working.match.order_type in (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT) \
                and working.match.stop is None:
            last = self._last_price.get(working.order.symbol)
            if last is not None:
                working.match.trail_adjust(last)
                self._update(working, stop_price=working.match.stop, limit_price=working.match.limit)
        self._emit(OrderAccepted, timestamp=ts, order=working.order)

    def _cancel_arrives(self, working: WorkingOrder, ts: datetime) -> None:
        if working.terminal is not None:
            if working.terminal == OrderStatus.FILLED.value:
                self._emit(CancelRejected, timestamp=ts, order_id=working.order.order_id, order=working.order,
                           reason=RejectionReason.TOO_LATE_TO_CANCEL,
                           message=f"order {working.order.order_id!r} filled before the cancel reached the venue")
            return
        if working.live_from is None:
            working.cancel_at_venue = True  # overtook its order: cancel it on arrival
            return
        self._venue_terminate(working, OrderStatus.CANCELLED, ts, "user")

    def _report_fill(self, working: WorkingOrder, fill: VenueFill, ts: datetime) -> None:
        working.in_flight_reports -= 1
        order = working.order
        symbol = order.symbol
        inst = self.portfolio.instrument(symbol)
        pos = self.portfolio.position(symbol)
        signed = fill.quantity if order.side is OrderSide.BUY else -fill.quantity
        closed, opened = split_fill(pos.quantity, signed)
        first = not working.commission_charged
        comm_closed = comm_opened = ZERO
        if closed != 0:
            comm_closed = self.commission.commission(abs(closed), fill.price, inst, first)
            first = False
        if opened != 0:
            comm_opened = self.commission.commission(abs(opened), fill.price, inst, first)
        for value in (comm_closed, comm_opened):  # checked before anything is booked
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ContractError(
                    f"commission model {type(self.commission).__name__} returned {value!r}; "
                    "a commission must be a finite Decimal >= 0"
                )
        booking = self.portfolio.book_fill(symbol, signed, fill.price, comm_closed, comm_opened,
                                           refuse_unfunded=self.fill.refuse_unfunded_fills)
        executed = booking.closed + booking.opened
        if executed != 0:
            working.commission_charged = True
            quantity = abs(executed)
            previous = order.executions
            execution = trusted_execution(
                f"{order.order_id}-{len(previous) + 1}", quantity, fill.price, booking.commission,
                (fill.price - fill.requested_price) * order.side.sign, fill.timestamp, fill.liquidity, ts,
            )
            filled = order.filled_quantity + quantity
            if previous:
                # From the executions, not the previous average: that one is rounded and would drift.
                avg = sum((e.quantity * e.price for e in previous), fill.price * quantity) / filled
            else:
                avg = fill.price
            status = order.status
            if filled >= order.quantity:
                status = OrderStatus.FILLED
            elif status in (OrderStatus.ACCEPTED, OrderStatus.SUBMITTED):
                status = OrderStatus.PARTIALLY_FILLED
            self._update(working, status=status, filled_quantity=filled, avg_fill_price=avg,
                         executions=(*order.executions, execution),
                         filled_at=ts if status is OrderStatus.FILLED else order.filled_at)
            self._emit(OrderFilled, timestamp=ts, order=working.order, execution=execution,
                       closed_quantity=booking.closed, opened_quantity=booking.opened,
                       realized_pnl=booking.realized_pnl, closed_commission=comm_closed,
                       position_quantity=pos.quantity,
                       position_avg_price=pos.avg_price, requested_price=fill.requested_price)
        if booking.opening_refused:
            working.terminal = OrderStatus.REJECTED.value
            working.terminal_reason = (
                f"insufficient funds at execution: opening {abs(signed) - abs(executed)} {symbol} at "
                f"{fill.price} would take cash below zero"
            )
            self._update(working, rejection_reason=RejectionReason.INSUFFICIENT_FUNDS,
                         rejection_message=working.terminal_reason)
        if working.in_flight_reports == 0 and working.terminal is not None:
            self._finish(working, ts)
        if booking.opening_refused:
            # After the refusal itself (BackBroker notifies Margin, then the dependents' Canceled).
            self._venue_cancel_dependents(working, ts)

    def _venue_cancel_dependents(self, working: WorkingOrder, ts: datetime) -> None:
        order = working.order
        for child_id in self._children.get(order.order_id, ()):
            child = self._working.get(child_id)
            if child is not None and child.terminal is None:
                self._venue_terminate(child, OrderStatus.CANCELLED, ts, "parent rejected")
        if order.oco_group is not None:
            self._cancel_group(self._oco.get(order.oco_group, []), order.order_id, ts, "oco")
        if order.parent_id is not None:  # a refused exit takes its sibling with it
            self._cancel_group(self._children.get(order.parent_id, []), order.order_id, ts, "bracket")

    def _update(self, working: WorkingOrder, **changes: Any) -> None:
        order = working.order
        target = changes.get("status")
        if target is not None and target is not order.status:
            order.status.transition(target)
        new = evolve_order(order, **changes)
        working.order = new
        self._orders[new.order_id] = new


def _backtrader_close(working: WorkingOrder, bar: Bar) -> Match | None:
    # Backtrader's Close order: the first bar at or after the session end fills it; if the
    # order was tried on a bar before, at that bar's close ("annotated"), else at this close.
    ts = bar.timestamp
    close_after, session_end = working.close_after, working.session_end
    assert close_after is not None and session_end is not None
    if ts > close_after and ts >= session_end:
        if working.annotated is not None and working.annotated_at is not None and ts > session_end:
            return Match(working.annotated, working.annotated, False, False, slippable=False,
                         fill_time=working.annotated_at)
        return Match(bar.close, bar.close, False, False, slippable=False)
    working.annotated, working.annotated_at = bar.close, ts
    return None


def _by_sequence(working: WorkingOrder) -> int:
    return working.sequence


_TRAILING = (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT)


def _match_state(order: Order) -> MatchState:
    return MatchState(
        side=order.side, order_type=order.order_type, stop=order.stop_price, limit=order.limit_price,
        trail_amount=order.trail_amount, trail_percent=order.trail_percent,
    )


def _check_type(name: str, value: object, expected: type) -> None:
    if not isinstance(value, expected):
        raise ConfigError(f"{name} must be a {expected.__name__}, got {type(value).__name__}")


def _check_simulator_id(value: str) -> str:
    if not isinstance(value, str) or not value or value in (".", "..") or any(
        c in value for c in "/\\\0:"
    ) or not value.isprintable():
        raise ConfigError(f"simulator_id must be a plain name (no path separators), got {value!r}")
    return value


def day_end(ts: datetime) -> datetime:
    """End of ``ts``'s calendar day: where DAY orders expire."""
    return datetime.combine(ts.date(), END_OF_DAY, tzinfo=ts.tzinfo)
