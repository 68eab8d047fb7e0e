"""Pre-trade risk engine: order caps, throttle, position, exposure and drawdown limits.

``RiskEngine`` (alias ``RiskChecker``) is driven by the simulator: it calls
:meth:`RiskEngine.check_order` before accepting an order, :meth:`RiskEngine.on_market_data`
after each bar and :meth:`RiskEngine.reset_latch` from ``enable_trading()``. It
reads the account through the small :class:`RiskContext` protocol, so it can
be used on its own with any object offering those reads.

Checks, in order; the first refusal wins and comes back as
``(RejectionReason, message)``, never as an exception:

1. order size (``risk_order_size``): ``quantity <= max_order_quantity`` and
   ``quantity * reference price * multiplier <= max_order_notional``;
2. throttle (``risk_order_rate``): a token bucket in simulated time; only
   orders that pass every rule take a token;
3. position (``risk_position_limit``), per symbol, worst case on the order's
   side: ``position + open buys + buy`` or ``|position - open sells - sell|``;
   linked orders count once (see :mod:`finbot_bt.execution.risk_book`): a
   bracket's exits add at most what their entry has filled, and an OCO
   sibling adds only what it exceeds the largest open member of its group by;
4. exposure (``risk_exposure_limit``): worst-case gross and net notional over
   every symbol held or with open orders, as a percent of equity;
5. drawdown (``risk_drawdown_limit``): while the daily or total drawdown is over
   its limit, or the engine is latched, only orders that shrink their position
   pass.

A limit that needs a price the simulator has not seen refuses with
``risk_no_price``. Every limit is inclusive. Prices are the simulator's last
closes; the open orders counted are the account's (remaining quantity).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from mypy_extensions import mypyc_attr

from finbot_bt.contracts.enums import OrderSide, RejectionReason
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.risk import RiskConfig
from finbot_bt.errors import ConfigError
from finbot_bt.execution.risk_book import BookSource, RiskBook, equity_at_last_close, multiplier
from finbot_bt.execution.risk_state import RISK_STATE_VERSION, RiskBreach, encode_risk_state, parse_risk_state

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
_US = timedelta(microseconds=1)
_CENT = Decimal("0.01")

Refusal = tuple[RejectionReason, str]

__all__ = ["RISK_STATE_VERSION", "RiskBreach", "RiskChecker", "RiskContext", "RiskEngine"]


class RiskContext(BookSource, Protocol):
    """What the engine reads from the simulator (``ExecutionSimulator`` provides it)."""

    def reference_price(self, order: Order) -> Decimal | None: ...


def _pct(numerator: Decimal, denominator: Decimal) -> Decimal:
    return (numerator * HUNDRED / denominator).quantize(_CENT)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)  # compiled: picklable (optstrategy)
class RiskEngine:
    """Stateful risk checks for one simulator; see the module docstring for the rules.

    Runtime state, all checkpointed by :meth:`state`: ``peak_equity`` (high-water
    mark), ``daily_baseline`` and its ``baseline_day`` (calendar date of the
    simulated clock), ``last_equity``, the token bucket (``bucket_level`` in
    units of ``1 / bucket_unit`` order, refilled at ``bucket_refilled_at``) and
    the drawdown ``latched`` flag.
    """

    def __init__(self, config: RiskConfig) -> None:
        if not isinstance(config, RiskConfig):
            raise ConfigError(f"risk must be a RiskConfig, got {type(config).__name__}")
        self.config = config
        size, rate = config.order_size, config.order_rate
        self._max_quantity = size.max_order_quantity if size is not None else None
        self._max_notional = size.max_order_notional if size is not None else None
        position = config.position_limit
        self._position_on = position is not None
        self._position_default: tuple[Decimal | None, Decimal | None] = (None, None)
        self._position_overrides: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        if position is not None:
            self._position_default = (position.max_shares, position.max_value)
            self._position_overrides = {i.symbol: position.limits_for(i.symbol) for i in position.per_symbol}
        exposure = config.exposure_limit
        self._max_gross = exposure.max_gross_exposure_pct if exposure is not None else None
        self._max_net = exposure.max_net_exposure_pct if exposure is not None else None
        drawdown = config.drawdown_limit
        self._max_daily = drawdown.max_daily_drawdown_pct if drawdown is not None else None
        self._max_total = drawdown.max_total_drawdown_pct if drawdown is not None else None
        self._drawdown_on = drawdown is not None
        self._exposure_on = exposure is not None
        self._book = RiskBook()
        self._uses_book = self._position_on or self._exposure_on or self._drawdown_on
        # Token bucket in integer units: an order costs `bucket_unit` (interval in
        # microseconds) and each microsecond adds `max_orders` units. Exact, no rounding.
        self.bucket_unit = rate.interval // _US if rate is not None else 0
        self._refill_per_us = rate.max_orders if rate is not None else 0
        self._capacity = rate.capacity * self.bucket_unit if rate is not None else 0
        self.bucket_level = self._capacity
        self.bucket_refilled_at: datetime | None = None
        self.peak_equity: Decimal | None = None
        self.daily_baseline: Decimal | None = None
        self.baseline_day: date | None = None
        self.last_equity: Decimal | None = None
        self.latched = False
        self.latched_rule: str | None = None
        self._pending_breach: RiskBreach | None = None

    # ------------------------------------------------------------------ order check
    def check_order(self, order: Order, sim: RiskContext, timestamp: datetime) -> Refusal | None:
        """Return None if ``order`` passes every rule, else ``(reason, message)``."""
        symbol = order.symbol
        if self._max_quantity is not None and order.quantity > self._max_quantity:
            return (RejectionReason.RISK_ORDER_SIZE,
                    f"order size limit: quantity {order.quantity} {symbol} exceeds "
                    f"max_order_quantity {self._max_quantity}")
        if self._max_notional is not None:
            refusal = self._check_notional(order, sim)
            if refusal is not None:
                return refusal
        if self.bucket_unit:
            refusal = self._check_rate(timestamp)
            if refusal is not None:
                return refusal
        if self._uses_book:
            refusal = self._check_book(order, sim, timestamp)
            if refusal is not None:
                return refusal
        if self.bucket_unit:
            self.bucket_level -= self.bucket_unit
        return None

    def adds_nothing(self, order: Order, sim: RiskContext) -> bool:
        """True when ``order`` cannot make its side's worst case any worse (a bracket exit,
        an OCO sibling no larger than one already open): a reduction while latched."""
        if not self._uses_book:
            return False
        self._book.attach(sim)
        self._book.settle()
        return self._book.added_by(order) == ZERO

    def _check_notional(self, order: Order, sim: RiskContext) -> Refusal | None:
        price = sim.reference_price(order)
        if price is None:
            return _no_price("order size limit (max_order_notional)", order.symbol)
        factor = multiplier(sim.portfolio, order.symbol)
        notional = order.quantity * price * factor
        if self._max_notional is not None and notional > self._max_notional:
            return (RejectionReason.RISK_ORDER_SIZE,
                    f"order size limit: notional {notional} ({order.quantity} {order.symbol} x {price} "
                    f"x multiplier {factor}) exceeds max_order_notional {self._max_notional}")
        return None

    def _check_rate(self, timestamp: datetime) -> Refusal | None:
        last = self.bucket_refilled_at
        if last is not None and timestamp > last:
            gained = ((timestamp - last) // _US) * self._refill_per_us
            self.bucket_level = min(self._capacity, self.bucket_level + gained)
        if last is None or timestamp > last:
            self.bucket_refilled_at = timestamp
        rate = self.config.order_rate
        if rate is None or self.bucket_level >= self.bucket_unit:
            return None
        wait_us = -(-(self.bucket_unit - self.bucket_level) // self._refill_per_us)
        ready = timestamp + timedelta(microseconds=wait_us)
        return (RejectionReason.RISK_ORDER_RATE,
                f"order rate limit ({rate.name}): more than {rate.max_orders} orders per {rate.interval} "
                f"(burst {rate.capacity}); the next order is allowed at {ready.isoformat()}")

    def _check_book(self, order: Order, sim: RiskContext, timestamp: datetime) -> Refusal | None:
        book = self._book
        book.attach(sim)
        book.settle()
        symbol = order.symbol
        buys, sells = book.pending(symbol)
        held = sim.portfolio.positions.get(symbol)
        quantity = held.quantity if held is not None else ZERO
        long_side, short_side = quantity + buys, quantity - sells
        # Linked orders count once: a bracket exit or an OCO sibling may add less than its quantity.
        added = book.added_by(order)
        if order.side is OrderSide.BUY:
            new_long, new_short = long_side + added, short_side
            figure = new_long
        else:
            new_long, new_short = long_side, short_side - added
            figure = -new_short
        # figure <= 0: the order shrinks its position even if every open order on its side fills;
        # added == 0: it cannot make the worst case any worse (an exit, or a covered OCO sibling).
        reduces = figure <= ZERO or added == ZERO
        if self._position_on and not reduces:
            same_side = buys if order.side is OrderSide.BUY else sells
            refusal = self._check_position(order, sim, figure, quantity, same_side)
            if refusal is not None:
                return refusal
        if self._exposure_on:
            refusal = _check_exposure(order, sim, book, (self._max_gross, self._max_net), added,
                                      (long_side, short_side), (new_long, new_short))
            if refusal is not None:
                return refusal
        if self._drawdown_on:
            equity = sim.portfolio.cash + book.value if not book.missing else (
                equity_at_last_close(sim.portfolio, sim.last_price))
            if equity is None:
                return None if reduces else _no_price("drawdown limit (equity)", sorted(book.missing)[0])
            return self._check_drawdown(order, equity, timestamp, reduces)
        return None

    def _check_position(
        self, order: Order, sim: RiskContext, figure: Decimal, quantity: Decimal, same_side: Decimal
    ) -> Refusal | None:
        symbol = order.symbol
        max_shares, max_value = self._position_overrides.get(symbol, self._position_default)
        if max_shares is not None and figure > max_shares:
            return (RejectionReason.RISK_POSITION_LIMIT,
                    f"position limit: {order.side.value} {order.quantity} {symbol} could make the {symbol} "
                    f"position {figure} units {_detail(order, quantity, same_side)}, above max_shares {max_shares}")
        if max_value is not None:
            price = sim.last_price(symbol)
            if price is None:
                return _no_price("position limit (max_value)", symbol)
            value = figure * price * multiplier(sim.portfolio, symbol)
            if value > max_value:
                return (RejectionReason.RISK_POSITION_LIMIT,
                        f"position limit: {order.side.value} {order.quantity} {symbol} could make the {symbol} "
                        f"position worth {value} ({figure} units at last close {price}) "
                        f"{_detail(order, quantity, same_side)}, "
                        f"above max_value {max_value}")
        return None

    def _check_drawdown(self, order: Order, equity: Decimal, timestamp: datetime, reduces: bool) -> Refusal | None:
        self._observe(equity, timestamp)
        if not self.latched:
            breach = self._breach(equity)
            if breach is None:
                return None
            self._latch(breach)
        if reduces:
            return None
        cause = self._pending_breach.message if self._pending_breach is not None else (
            f"a drawdown limit ({self.latched_rule}) was breached")
        return (RejectionReason.RISK_DRAWDOWN_LIMIT,
                f"{cause}; reducing-only until enable_trading(): {order.side.value} {order.quantity} "
                f"{order.symbol} would not reduce the position")

    # ------------------------------------------------------------------ drawdown state
    def on_market_data(self, sim: RiskContext, timestamp: datetime) -> RiskBreach | None:
        """Observe equity after a bar; return a new drawdown breach (once) or None."""
        if self._uses_book:
            self._book.attach(sim)
            self._book.refresh_prices()
        if not self._drawdown_on:
            return None
        equity = equity_at_last_close(sim.portfolio, sim.last_price)
        if equity is None:
            return None  # a held symbol without a price: nothing to measure yet
        return self.update_state(equity, timestamp)

    def update_state(self, equity: Decimal, timestamp: datetime) -> RiskBreach | None:
        """Record ``equity`` (quote currency) at ``timestamp``; return a new breach once, else None.

        Rolls the daily baseline to the previous observation when the calendar
        date of ``timestamp`` changes, raises the high-water mark, and latches
        when a drawdown limit is exceeded.
        """
        self._observe(equity, timestamp)
        if self.latched:
            pending, self._pending_breach = self._pending_breach, None
            return pending
        breach = self._breach(equity)
        if breach is not None:
            self._latch(breach)
            self._pending_breach = None
        return breach

    def reset_latch(self, sim: RiskContext, timestamp: datetime) -> None:
        """Clear the drawdown latch; limits still over restart from the current equity."""
        if not self.latched:
            return
        equity = equity_at_last_close(sim.portfolio, sim.last_price)
        if equity is not None:
            self._observe(equity, timestamp)
            baseline, peak = self.daily_baseline, self.peak_equity
            if self._max_daily is not None and baseline is not None and _over(baseline, equity, self._max_daily):
                self.daily_baseline = equity
            if self._max_total is not None and peak is not None and _over(peak, equity, self._max_total):
                self.peak_equity = equity
        self.latched = False
        self.latched_rule = None
        self._pending_breach = None

    def _latch(self, breach: RiskBreach) -> None:
        self.latched = True
        self.latched_rule = breach.rule
        self._pending_breach = breach

    def _observe(self, equity: Decimal, timestamp: datetime) -> None:
        day = timestamp.date()
        if self.baseline_day is None:
            self.baseline_day, self.daily_baseline = day, equity
        elif day > self.baseline_day:
            self.baseline_day = day
            self.daily_baseline = self.last_equity if self.last_equity is not None else equity
        if self.peak_equity is None or equity > self.peak_equity:
            self.peak_equity = equity
        self.last_equity = equity

    def _breach(self, equity: Decimal) -> RiskBreach | None:
        daily, base = self._max_daily, self.daily_baseline
        if daily is not None and base is not None and _over(base, equity, daily):
            return _drawdown_breach("daily", daily, base, equity, f"day start on {self.baseline_day}")
        total, peak = self._max_total, self.peak_equity
        if total is not None and peak is not None and _over(peak, equity, total):
            return _drawdown_breach("total", total, peak, equity, "high-water mark")
        return None

    # ------------------------------------------------------------------ checkpoint
    def state(self) -> dict[str, Any]:
        """Runtime state as JSON-friendly values (Decimals as str, dates ISO 8601)."""
        return encode_risk_state(self, self._pending_breach)

    def restore_state(self, data: dict[str, Any]) -> None:
        """Restore :meth:`state` output; raise CheckpointError naming a bad or unknown key."""
        parsed, breach = parse_risk_state(data)
        self._book.invalidate()  # the simulator's book was restored too: rebuild on next use
        level, unit = parsed.bucket_level, parsed.bucket_unit
        if self.bucket_unit and unit and unit != self.bucket_unit:
            level = level * self.bucket_unit // unit  # the interval changed: keep the token count
        self.bucket_level = min(self._capacity, level) if self.bucket_unit else 0
        self.bucket_refilled_at = parsed.bucket_refilled_at
        self.peak_equity = parsed.peak_equity
        self.daily_baseline = parsed.daily_baseline
        self.baseline_day = parsed.baseline_day
        self.last_equity = parsed.last_equity
        self.latched = parsed.latched
        self.latched_rule = parsed.latched_rule
        self._pending_breach = breach


RiskChecker = RiskEngine
"""The name the issue and the original finbot use."""


def _check_exposure(
    order: Order, sim: RiskContext, book: RiskBook, limits: tuple[Decimal | None, Decimal | None],
    added: Decimal, before: tuple[Decimal, Decimal], after: tuple[Decimal, Decimal],
) -> Refusal | None:
    # Worst-case gross and net notional after the order, against (max gross %, max net %) of equity.
    price = sim.last_price(order.symbol)
    if price is None or book.missing:
        missing = order.symbol if price is None else sorted(book.missing)[0]
        return _no_price("exposure limit", missing)
    unit = price * multiplier(sim.portfolio, order.symbol)
    gross = book.gross
    new_gross = gross + (max(abs(after[0]), abs(after[1])) - max(abs(before[0]), abs(before[1]))) * unit
    shift = added * unit
    net_long, net_short = book.net_long, book.net_short
    net = max(abs(net_long), abs(net_short))
    if order.side is OrderSide.BUY:
        new_net = max(abs(net_long + shift), abs(net_short))
    else:
        new_net = max(abs(net_long), abs(net_short - shift))
    equity = sim.portfolio.cash + book.value
    for name, limit, old, new in (("gross", limits[0], gross, new_gross), ("net", limits[1], net, new_net)):
        if limit is None or new <= old or (equity > ZERO and new * HUNDRED <= limit * equity):
            continue
        field = f"max_{name}_exposure_pct {limit}%"
        if equity <= 0:
            return (RejectionReason.RISK_EXPOSURE_LIMIT,
                    f"exposure limit: equity is {equity}, so no {name} exposure can be added; "
                    f"{order.side.value} {order.quantity} {order.symbol} would raise it to {new} ({field})")
        return (RejectionReason.RISK_EXPOSURE_LIMIT,
                f"exposure limit: {order.side.value} {order.quantity} {order.symbol} could raise {name} "
                f"exposure to {_pct(new, equity)}% of equity {equity} (notional {new}, worst case with "
                f"open orders), above {field}")
    return None


def _over(base: Decimal, equity: Decimal, limit: Decimal) -> bool:
    return base > 0 and (base - equity) * HUNDRED > limit * base


def _drawdown_breach(kind: str, limit: Decimal, base: Decimal, equity: Decimal, label: str) -> RiskBreach:
    field = f"max_{kind}_drawdown_pct"
    return RiskBreach(
        rule=f"drawdown_limit.{field}", reason=RejectionReason.RISK_DRAWDOWN_LIMIT,
        message=(f"drawdown limit: {kind} drawdown {_pct(base - equity, base)}% (equity {equity} "
                 f"vs {label} {base}) exceeds {field} {limit}%"),
    )


def _detail(order: Order, quantity: Decimal, same_side: Decimal) -> str:
    return (f"(position {quantity} + open {order.side.value}s {same_side} + order {order.quantity}, "
            "worst case if every open order on that side fills)")


def _no_price(rule: str, symbol: str) -> Refusal:
    return (RejectionReason.RISK_NO_PRICE,
            f"{rule} needs a price for {symbol!r} but the simulator has not seen one yet; "
            "send market data for it before trading")
