"""Invariants over random order streams on random bars (hypothesis).

Mixed order types, sides, time in force, OCO groups, latency profiles,
volume caps, commissions and cancels. Checked after every run: no overfill,
executions add up to the order, the average fill price is the executions'
VWAP, nothing happens to an order after its terminal event, statuses follow
the transition table, cash and positions reconcile with the executions, and
a rerun with the same seed gives the same event stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from finbot_bt.contracts import (
    ExecutionEvent,
    Order,
    OrderEvent,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from finbot_bt.execution import (
    BarPercentCap,
    ExecutionSimulator,
    FillConfig,
    FixedCommission,
    FixedSizeCap,
    ParticipationCap,
    PercentCommission,
    PerShareCommission,
)
from tests.factories import bar

START = datetime(2024, 3, 4, 9, 30)
STEP = timedelta(hours=5)  # bars cross midnight, so DAY orders expire
OPENS_BEFORE_CLOSE = timedelta(hours=5) - timedelta(seconds=10)
SYMBOLS = ("AAA", "BBB")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Action:
    kind: str  # "submit" or "cancel"
    delay_ms: int
    symbol: str = "AAA"
    side: str = "buy"
    order_type: str = "market"
    quantity: int = 1
    offset: int = 0  # cents from the last close for limit/stop prices
    tif: str = "gtc"
    oco_with_previous: bool = False
    target: int = 0  # index of the order to cancel


@dataclass(frozen=True)
class Scenario:
    cash: Decimal
    seed: int
    latency: str
    cap: object
    commission: object
    bars: tuple[tuple[tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None], ...], ...]
    actions: tuple[tuple[Action, ...], ...]


_submit = st.builds(
    Action,
    kind=st.just("submit"),
    delay_ms=st.integers(min_value=0, max_value=45_000),
    symbol=st.sampled_from(SYMBOLS),
    side=st.sampled_from(["buy", "sell"]),
    order_type=st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing_stop", "market_on_close"]),
    quantity=st.integers(min_value=1, max_value=40),
    offset=st.integers(min_value=-150, max_value=150),
    tif=st.sampled_from(["gtc", "gtc", "day", "ioc", "fok"]),
    oco_with_previous=st.booleans(),
)
_cancel = st.builds(
    Action, kind=st.just("cancel"), delay_ms=st.integers(min_value=0, max_value=45_000),
    target=st.integers(min_value=0, max_value=30),
)


@st.composite
def _bar_values(draw: st.DrawFn, previous: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None]:
    open_ = max(Decimal(1), previous + draw(st.integers(min_value=-200, max_value=200)) * CENT)
    close = max(Decimal(1), open_ + draw(st.integers(min_value=-200, max_value=200)) * CENT)
    high = max(open_, close) + draw(st.integers(min_value=0, max_value=100)) * CENT
    low = max(CENT, min(open_, close) - draw(st.integers(min_value=0, max_value=100)) * CENT)
    volume = draw(st.none() | st.integers(min_value=0, max_value=120).map(Decimal))
    return open_, high, low, close, volume


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(min_value=3, max_value=8))
    closes = {s: Decimal(100) for s in SYMBOLS}
    bars = []
    for _ in range(count):
        step = []
        for symbol in SYMBOLS:
            values = draw(_bar_values(closes[symbol]))
            closes[symbol] = values[3]
            step.append(values)
        bars.append(tuple(step))
    actions = tuple(
        tuple(draw(st.lists(st.one_of(_submit, _submit, _cancel), max_size=4))) for _ in range(count)
    )
    return Scenario(
        cash=draw(st.sampled_from([Decimal(3000), Decimal(1_000_000)])),
        seed=draw(st.integers(min_value=0, max_value=2**16)),
        latency=draw(st.sampled_from(["instant", "fast", "normal", "slow"])),
        cap=draw(st.sampled_from([None, ParticipationCap(fraction=Decimal("0.3")),
                                  FixedSizeCap(size=Decimal(7)), BarPercentCap(percent=Decimal(20))])),
        commission=draw(st.sampled_from([None, PercentCommission(rate=Decimal("0.001")),
                                         PerShareCommission(rate=Decimal("0.01"), minimum=Decimal(1)),
                                         FixedCommission(amount=Decimal("1.5"))])),
        bars=tuple(bars),
        actions=actions,
    )


def _build(action: Action, order_id: str, last: Decimal, previous_id: str | None) -> Order:
    price = max(CENT, last + action.offset * CENT)
    kind = OrderType(action.order_type)
    limit = stop = trail = None
    if kind is OrderType.LIMIT:
        limit = price
    elif kind is OrderType.STOP:
        stop = price
    elif kind is OrderType.STOP_LIMIT:
        stop, limit = price, price + (CENT * 50 if action.side == "buy" else -CENT * 50)
        limit = max(CENT, limit)
    elif kind is OrderType.TRAILING_STOP:
        trail = abs(action.offset) * CENT
    return Order(
        order_id=order_id, symbol=action.symbol, side=OrderSide(action.side), order_type=kind,
        quantity=Decimal(action.quantity), limit_price=limit, stop_price=stop, trail_amount=trail,
        time_in_force=TimeInForce(action.tif),
        oco_group=previous_id if action.oco_with_previous and previous_id is not None else None,
    )


def run(scenario: Scenario) -> tuple[ExecutionSimulator, list[ExecutionEvent], dict[str, Decimal]]:
    sim = ExecutionSimulator(
        scenario.cash, latency=scenario.latency, seed=scenario.seed,
        fill=FillConfig(volume_cap=scenario.cap),  # type: ignore[arg-type]
        commission=scenario.commission,  # type: ignore[arg-type]
    )
    events: list[ExecutionEvent] = []
    sim.add_listener(events.append)
    ids: list[str] = []
    last = {s: Decimal(100) for s in SYMBOLS}
    for index, step in enumerate(scenario.bars):
        stamp = START + index * STEP
        opened = stamp - OPENS_BEFORE_CLOSE  # after every order placed on the previous bar has arrived
        sim.process_market_data(stamp, {
            s: bar(*v[:4], stamp, volume=v[4], open_time=opened) for s, v in zip(SYMBOLS, step, strict=True)
        })
        last = {s: v[3] for s, v in zip(SYMBOLS, step, strict=True)}
        for action in sorted(scenario.actions[index], key=lambda a: a.delay_ms):
            when = stamp + timedelta(milliseconds=action.delay_ms)
            if action.kind == "cancel":
                if ids:
                    sim.cancel_order(ids[action.target % len(ids)], when)
                continue
            order_id = sim.next_order_id()
            sim.submit_order(_build(action, order_id, last[action.symbol], ids[-1] if ids else None), when)
            ids.append(order_id)
    sim.advance_time(START + len(scenario.bars) * STEP)
    return sim, events, last


@settings(max_examples=70, deadline=None)
@given(scenarios())
def test_random_streams_when_run_then_invariants_hold(scenario: Scenario) -> None:
    sim, events, last = run(scenario)
    orders = sim.orders()
    cash_flow = Decimal(0)
    commissions = Decimal(0)
    held = {s: Decimal(0) for s in SYMBOLS}
    for placed in orders:
        executed = sum((e.quantity for e in placed.executions), Decimal(0))
        # no overfill, and executions add up to the order
        assert executed == placed.filled_quantity <= placed.quantity
        if placed.executions:
            notional = sum((e.quantity * e.price for e in placed.executions), Decimal(0))
            assert placed.avg_fill_price == notional / executed
            sign = placed.side.sign
            cash_flow -= sign * notional
            held[placed.symbol] += sign * executed
            commissions += sum((e.commission for e in placed.executions), Decimal(0))
            if placed.order_type is OrderType.LIMIT:
                assert placed.limit_price is not None
                for e in placed.executions:
                    assert (e.price <= placed.limit_price) if sign > 0 else (e.price >= placed.limit_price)
        else:
            assert placed.avg_fill_price is None and placed.filled_quantity == 0
        if placed.status is OrderStatus.FILLED:
            assert placed.filled_quantity == placed.quantity

    # stock-like cash: initial - sum(signed qty * price) - commissions
    assert sim.cash == scenario.cash + cash_flow - commissions
    for symbol in SYMBOLS:
        assert sim.get_position(symbol).quantity == held[symbol]

    # equity reconciles with realized P&L, unrealized P&L and commissions
    positions = [sim.get_position(s) for s in SYMBOLS]
    realized = sum((p.realized_pnl for p in positions), Decimal(0))
    unrealized = sum((p.quantity * (last[p.symbol] - p.avg_price) for p in positions), Decimal(0))
    paid = sum((p.commission for p in positions), Decimal(0))
    assert paid == commissions
    drift = sim.get_account_value() - (scenario.cash + realized + unrealized - paid)
    assert abs(drift) < Decimal("1e-12")

    # per order: no event after the terminal one, and every status change is legal
    seen: dict[str, OrderStatus] = {}
    for event in events:
        if not isinstance(event, OrderEvent):
            continue
        previous = seen.get(event.order_id)
        if previous is not None:
            assert not previous.is_terminal, f"event after terminal status for {event.order_id}: {event!r}"
            current = event.order.status
            assert current is previous or previous.can_transition(current)
        seen[event.order_id] = event.order.status
    for placed in orders:
        assert seen[placed.order_id] is placed.status
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))


@settings(max_examples=25, deadline=None)
@given(scenarios())
def test_random_streams_when_rerun_with_same_seed_then_identical_events(scenario: Scenario) -> None:
    _, first, _ = run(scenario)
    _, second, _ = run(scenario)
    assert [repr(e) for e in first] == [repr(e) for e in second]
