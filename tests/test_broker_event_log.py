"""EventLog: broker.events stored as plain values, read back as events equal to the recorded ones."""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.broker import frames
from finbot_bt.broker.event_log import EventLog
from finbot_bt.contracts.enums import RejectionReason, TradingState
from finbot_bt.contracts.events import (
    CancelRejected,
    ExecutionEvent,
    OrderFilled,
    OrderRejected,
    RiskLimitBreached,
    TradingStateChanged,
)
from finbot_bt.contracts.risk import DrawdownLimitRule, OrderSizeRule, RiskConfig
from finbot_bt.execution import FillConfig, ParticipationCap
from tests.bt_harness import make_ohlcv, pandas_feed, run

FRAME = make_ohlcv(40, seed=23)


@dataclass(frozen=True, slots=True, kw_only=True)
class Breach(RiskLimitBreached):
    note: str


def _collapsed() -> Any:
    frame = FRAME.copy()
    frame.iloc[25:, :4] = frame.iloc[25:, :4] * 0.7  # a 30 % collapse: the drawdown latch trips
    frame.iloc[25, 1] = max(frame.iloc[25, 0], frame.iloc[25, 1])
    return frame


def _varied_run() -> tuple[FinbotBroker, list[ExecutionEvent]]:
    """Fills, partial fills, rejections of several reasons, cancels, expiries, state changes, a breach,
    a bracket and an OCO pair, with NORMAL latency; returns the broker and the events a listener kept."""
    kept: list[ExecutionEvent] = []
    broker = FinbotBroker(latency="normal", cash=100000.0,
                          risk=RiskConfig(order_size=OrderSizeRule(max_order_quantity=Decimal(2000)),
                                          drawdown_limit=DrawdownLimitRule(max_total_drawdown_pct=Decimal(10))),
                          fill=FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.05"))))

    def limit(s: Any, side: str, factor: float, **kw: Any) -> Any:
        return getattr(s, side)(size=5, exectype=bt.Order.Limit, price=float(s.data.close[0]) * factor, **kw)

    def oco_pair(s: Any) -> None:
        first = limit(s, "sell", 1.5)
        limit(s, "sell", 0.5, oco=first)

    def cancel_twice(s: Any) -> None:
        order = s.keep("resting", limit(s, "buy", 0.5))
        s.broker.cancel(order)

    def refused_cancels(s: Any) -> None:  # CancelRejected: a finished order, an unknown id
        filled = next(e.order_id for e in kept if isinstance(e, OrderFilled) and not e.is_partial)
        s.broker.sim.cancel_order(filled, s.broker.sim.clock)
        s.broker.sim.cancel_order("unknown", s.broker.sim.clock)

    plan: dict[int, list[Any]] = {
        2: [lambda s: s.buy(size=400)],                                     # partial fills (volume cap)
        3: [lambda s: s.buy(size=2500),                                     # risk_order_size
            lambda s: s.buy(size=1500),                                     # insufficient funds
            lambda s: limit(s, "buy", 0.5, valid=s.data.datetime.date(0))],  # expires
        4: [cancel_twice, oco_pair],
        6: [refused_cancels,
            lambda s: s.buy_bracket(size=5, price=float(s.data.close[0]), stopprice=float(s.data.close[0]) * 0.8,
                                    limitprice=float(s.data.close[0]) * 1.2)],
        9: [lambda s: s.broker.disable_trading("manual")],
        10: [lambda s: s.buy(size=1)],                                      # trading halted
        11: [lambda s: s.broker.enable_trading()],
        20: [lambda s: s.buy(size=200)],
        30: [lambda s: s.buy(size=5)],                                      # reducing only after the latch
    }
    run(lambda: broker, lambda: [pandas_feed(_collapsed(), name="A")], plan,
        on_start=lambda s: s.broker.sim.add_listener(kept.append))
    return broker, kept


@pytest.fixture(scope="module")
def varied() -> tuple[FinbotBroker, list[ExecutionEvent]]:
    return _varied_run()


def test_event_log_when_a_varied_run_is_recorded_then_every_event_reads_back_equal(varied: Any) -> None:
    broker, kept = varied
    log = broker.events
    assert isinstance(log, EventLog)
    kinds = Counter(type(e).__name__ for e in kept)
    assert set(kinds) >= {"OrderSubmitted", "OrderAccepted", "OrderFilled", "OrderRejected", "OrderCancelled",
                          "OrderExpired", "CancelRejected", "TradingStateChanged", "RiskLimitBreached"}
    assert any(isinstance(e, OrderFilled) and e.is_partial for e in kept)
    assert {e.reason for e in kept if isinstance(e, OrderRejected)} >= {
        RejectionReason.RISK_ORDER_SIZE, RejectionReason.INSUFFICIENT_FUNDS, RejectionReason.RISK_TRADING_DISABLED}
    assert any(e.order.oco_group for e in kept if hasattr(e, "order") and e.order is not None)
    assert any(e.order.parent_id for e in kept if hasattr(e, "order") and e.order is not None)
    assert len(log) == len(kept)
    assert list(log) == kept
    assert [log[i] for i in range(len(log))] == kept
    assert [log[i] for i in range(-1, -len(log) - 1, -1)] == kept[::-1]
    assert log[3:17:2] == kept[3:17:2] and log[:] == kept
    assert log == kept and log == tuple(kept) and log != kept[:-1]
    assert [type(e) for e in log] == [type(e) for e in kept]
    assert log.counts() == frames.event_counts(kept) == dict(kinds)
    assert list(log.of_type(OrderRejected, CancelRejected)) == [
        e for e in kept if isinstance(e, (OrderRejected, CancelRejected))]


def test_event_log_when_a_run_is_recorded_then_frames_and_counters_match_the_event_objects(varied: Any) -> None:
    broker, kept = varied
    pd_testing = pytest.importorskip("pandas.testing")
    for build in (frames.orders_frame, frames.fills_frame, frames.rejections_frame):
        pd_testing.assert_frame_equal(build(broker.events), build(kept))
    assert frames.event_counts(broker.events) == frames.event_counts(kept)
    # With an event of an unknown type in it, the frames read the log as events: the same frames.
    mixed = [*kept, Breach(timestamp=kept[-1].timestamp, sequence=10**6, rule="r",
                           reason=RejectionReason.RISK_DRAWDOWN_LIMIT, message="m", note="n")]
    for build in (frames.orders_frame, frames.fills_frame, frames.rejections_frame):
        pd_testing.assert_frame_equal(build(EventLog(mixed)), build(kept))
    assert broker.fills_frame()["is_partial"].any()
    assert Counter(e.reason.value for e in broker.events if isinstance(e, OrderRejected)) == Counter(
        e.reason.value for e in kept if isinstance(e, OrderRejected))


def test_event_log_when_collected_then_its_records_are_not_tracked_by_the_collector(varied: Any) -> None:
    broker, _ = varied
    gc.collect()
    records = broker.events.records()
    # Plain values only; enum members are tracked but live as long as their class.
    assert records and not any(gc.is_tracked(value) and not isinstance(value, Enum) for r in records for value in r)
    events = list(broker.events) * 20
    gc.collect()
    before = len(gc.get_objects())
    log = EventLog(events)
    gc.collect()
    assert len(gc.get_objects()) - before < 10  # recording allocates nothing the collector tracks
    assert list(log) == events


def test_event_log_when_an_event_type_is_unknown_then_it_is_kept_as_it_is() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Custom(TradingStateChanged):
        note: str

    stamp = datetime(2024, 1, 2)
    known = TradingStateChanged(timestamp=stamp, sequence=1, previous=TradingState.ACTIVE,
                                state=TradingState.HALTED, reason="x")
    custom = Custom(timestamp=stamp, sequence=2, previous=TradingState.HALTED, state=TradingState.ACTIVE,
                    reason="y", note="kept")
    breach = RiskLimitBreached(timestamp=stamp, sequence=3, rule="drawdown",
                               reason=RejectionReason.RISK_DRAWDOWN_LIMIT, message="m")
    log = EventLog([known, custom, breach])
    assert log[1] is custom and log[-2] is custom and list(log) == [known, custom, breach]
    assert list(log.of_type(TradingStateChanged)) == [known, custom]
    assert log.counts() == {"TradingStateChanged": 1, "Custom": 1, "RiskLimitBreached": 1}
    assert EventLog() == [] and EventLog() != [known] and repr(log) == "EventLog(3 events)"
    with pytest.raises(IndexError):
        log[3]


def test_event_log_when_record_events_is_off_then_the_log_stays_empty() -> None:
    broker = FinbotBroker(record_events=False)
    run(lambda: broker, lambda: [pandas_feed(FRAME, name="A")], {3: [lambda s: s.buy(size=1)]})
    assert len(broker.events) == 0 and broker.events == [] and frames.event_counts(broker.events) == {}
