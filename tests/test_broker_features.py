"""What FinbotBroker adds over BackBroker, its bad-input handling, and its deliberate differences.

Each difference from BackBroker listed in README.md ("Differences from
BackBroker") has a test here that runs both brokers and shows it.
"""

from __future__ import annotations

import math
import pickle
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.contracts import LatencyConfig
from finbot_bt.errors import ConfigError
from finbot_bt.execution import FillConfig, ParticipationCap
from tests.bt_harness import Keep, Plan, assert_same, make_ohlcv, pandas_feed, run, same

O = bt.Order  # noqa: E741
FRAME = make_ohlcv(60, seed=3)
MINUTES = make_ohlcv(80, seed=9, start=datetime(2021, 3, 1, 9, 35), step=timedelta(minutes=5))


def daily() -> list[Any]:
    return [pandas_feed(FRAME, name="A")]


def minutes() -> list[Any]:
    return [pandas_feed(MINUTES, name="A", timeframe=bt.TimeFrame.Minutes, compression=5)]


def statuses(result: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(entry[0], entry[3], entry[2]) for entry in result["log"]]


# ---------------------------------------------------------------- additions


def test_latency_when_normal_on_5min_bars_then_market_order_skips_one_bar() -> None:
    plan: Plan = {10: [lambda s: s.buy(size=1)]}
    instant = run(FinbotBroker, minutes, plan)
    factory = Keep(latency="normal")
    delayed = run(factory, minutes, plan)
    fill_bar = {r[0] for r in instant["log"] if r[2] == "Completed"}
    delayed_bar = {r[0] for r in delayed["log"] if r[2] == "Completed"}
    assert fill_bar == {11}
    # The order reaches the venue 50 ms after bar 10 closed, inside bar 11: it trades at bar 12's open.
    assert delayed_bar == {12}
    fill = factory.broker.fills_frame().iloc[0]
    assert fill["price"] == MINUTES["open"].iloc[11]
    assert 0.150 <= fill["latency_seconds"] <= 0.250


def test_latency_when_normal_on_daily_bars_then_fills_at_next_open_and_reports_same_bar() -> None:
    plan: Plan = {5: [lambda s: s.buy(size=2)]}
    expected = run(None, daily, plan)
    got = run(Keep(latency="normal"), daily, plan)
    # The overnight gap is longer than any latency: same fill bar and price as BackBroker.
    assert [r[:8] for r in got["log"]] == [r[:8] for r in expected["log"]]


def test_latency_when_slow_then_cancel_races_a_fill_and_loses() -> None:
    # A marketable limit on 5-minute bars, cancelled one bar later: under SLOW latency the
    # order reaches the venue inside bar 11 and fills at bar 12's open; the cancel, sent at
    # bar 11's close, reaches the venue 100 ms into bar 12: too late.
    plan: Plan = {
        10: [lambda s: s.keep("o", s.buy(size=1, exectype=O.Limit, price=float(s.data.close[0]) * 1.05))],
        11: [lambda s: s.cancel(s.kept["o"])],
    }
    factory = Keep(latency="slow")
    result = run(factory, minutes, plan)
    assert [r[2] for r in result["log"]] == ["Submitted", "Accepted", "Completed"]
    kinds = [type(e).__name__ for e in factory.broker.events]
    assert "CancelRejected" in kinds


def test_partial_fills_when_participation_cap_then_partial_notifications_sum_to_order() -> None:
    frame = FRAME.copy()
    frame["volume"] = 1000
    fill = FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.1")))
    result = run(Keep(fill=fill, cash=1_000_000.0), lambda: [pandas_feed(frame, name="A")],
                 {3: [lambda s: s.buy(size=350)]})
    sequence = [r[2] for r in result["log"]]
    assert sequence == ["Submitted", "Accepted", "Partial", "Partial", "Partial", "Completed"]
    sizes = [r[6] for r in result["log"] if r[2] in ("Partial", "Completed")]
    assert sizes == [100, 200, 300, 350]
    # Trade accounting sees every part: one trade opened, for the full size at the end.
    assert result["trades"][0][3] == 100


def test_rejections_when_risk_like_bad_input_then_rejected_with_reason_and_run_goes_on() -> None:
    factory = Keep()
    plan: Plan = {
        3: [lambda s: s.buy(size=1, exectype=O.Limit, price=-5.0)],
        4: [lambda s: s.buy(size=1, exectype=O.Limit, price=math.nan)],
        5: [lambda s: s.broker.buy(s, s.data, size=0)],
        6: [lambda s: s.buy(size=math.inf)],
        7: [lambda s: s.buy(size=1)],
    }
    result = run(factory, daily, plan)
    rejected = [r for r in result["log"] if r[2] == "Rejected"]
    assert len(rejected) == 4
    reasons = factory.broker.rejections_frame()["reason"].tolist()
    assert reasons == ["invalid_price", "invalid_price", "invalid_quantity", "invalid_quantity"]
    assert "Completed" in [r[2] for r in result["log"]]


def test_rejections_when_rejected_then_reason_and_message_in_order_info() -> None:
    seen: list[tuple[str, str]] = []

    class Probe(bt.Strategy):
        def next(self) -> None:
            if len(self) == 2:
                self.buy(size=1, exectype=O.Limit, price=-1.0)

        def notify_order(self, order: Any) -> None:
            if order.status == order.Rejected:
                seen.append((order.info.reject_reason, order.info.reject_message))

    cerebro = bt.Cerebro()
    cerebro.adddata(pandas_feed(FRAME, name="A"))
    cerebro.setbroker(FinbotBroker())
    cerebro.addstrategy(Probe)
    cerebro.run()
    assert seen == [("invalid_price", "limit_price must be a positive finite price, got -1.0")]


MODES = [dict(runonce=True, preload=True), dict(runonce=False, preload=True),
         dict(runonce=False, preload=False, exactbars=-2), dict(runonce=True, preload=True, exactbars=-1)]


def test_determinism_when_latency_and_caps_then_identical_in_every_cerebro_mode() -> None:
    frame = FRAME.copy()
    frame["volume"] = 700
    plan: Plan = {i: [lambda s: s.buy(size=90), lambda s: s.sell(size=40, exectype=O.Limit,
                                                                  price=float(s.data.close[0]) * 1.01)]
                  for i in range(2, 55, 3)}
    fill = FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.1")))
    runs = [run(Keep(latency="slow", fill=fill, seed=4), lambda: [pandas_feed(frame, name="A")], plan, **mode)
            for mode in MODES]
    runs.append(run(Keep(latency="slow", fill=fill, seed=4), lambda: [pandas_feed(frame, name="A")], plan))
    for other in runs[1:]:
        assert_same({k: v for k, v in runs[0].items() if k != "observers"},
                    {k: v for k, v in other.items() if k != "observers"})


def test_determinism_when_seed_changes_then_latencies_change() -> None:
    plan: Plan = {i: [lambda s: s.buy(size=1)] for i in range(2, 40, 2)}
    a, b = Keep(latency="normal", seed=1), Keep(latency="normal", seed=2)
    run(a, minutes, plan)
    run(b, minutes, plan)
    assert a.broker.fills_frame()["latency_seconds"].tolist() != b.broker.fills_frame()["latency_seconds"].tolist()


def test_pickle_when_broker_configured_then_roundtrip_runs_identically() -> None:
    broker = FinbotBroker(latency=LatencyConfig(submission_latency=timedelta(milliseconds=5)), seed=9)
    clone = pickle.loads(pickle.dumps(broker))
    plan: Plan = {3: [lambda s: s.buy(size=2)], 9: [lambda s: s.close()]}
    assert_same(run(lambda: broker, daily, plan), run(lambda: clone, daily, plan))


def test_plot_when_headless_then_png_written(tmp_path: Path) -> None:
    import backtrader.plot  # noqa: F401  (it forces TkAgg on import; Agg must come after)
    import matplotlib

    matplotlib.use("Agg", force=True)
    cerebro = bt.Cerebro()
    cerebro.adddata(pandas_feed(FRAME, name="A"))
    cerebro.setbroker(FinbotBroker(latency="fast"))
    cerebro.addstrategy(bt.Strategy)
    cerebro.run()
    figure = cerebro.plot(iplot=False)[0][0]
    path = tmp_path / "plot.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- configuration errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(latency="warp"), "unknown latency profile 'warp'"),
        (dict(cash=-1.0), "cash must be >= 0"),
        (dict(cash=math.nan), "cash must be finite"),
        (dict(risk={"max_order_quantity": 5}), "risk must be a RiskConfig"),
        (dict(slippage=0.01), "slippage must be a SlippageModel"),
        (dict(fill="partial"), "fill must be a FillConfig"),
        (dict(seed=True), "seed must be an int"),
        (dict(shortcash=False), "shortcash=False is not supported"),
    ],
    ids=["latency", "negative_cash", "nan_cash", "risk_type", "slippage_type", "fill_type", "seed", "shortcash"],
)
def test_config_when_bad_setting_then_config_error_names_it(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FinbotBroker(**kwargs)


# ---------------------------------------------------------------- deliberate differences


def test_divergence_when_cancel_on_creation_bar_then_finbot_cancels_backbroker_ignores() -> None:
    plan: Plan = {4: [lambda s: s.cancel(s.buy(size=1))]}
    back, finbot = run(None, daily, plan), run(FinbotBroker, daily, plan)
    assert [r[2] for r in back["log"]][:3] == ["Submitted", "Accepted", "Completed"]
    assert [r[2] for r in finbot["log"]] == ["Submitted", "Canceled"]


def test_divergence_when_order_refused_for_cash_then_it_does_not_consume_buying_power() -> None:
    # Two buys in one bar: the first is far too big, the second fits on its own.
    plan: Plan = {4: [lambda s: s.buy(size=500), lambda s: s.buy(size=10)]}
    back, finbot = run(None, daily, plan), run(FinbotBroker, daily, plan)
    assert [r[2] for r in back["log"] if r[0] == 5] == ["Submitted", "Submitted", "Margin", "Margin"]
    assert [r[2] for r in finbot["log"] if r[0] == 5] == ["Submitted", "Submitted", "Margin", "Accepted",
                                                          "Completed"]


def test_divergence_when_stop_limit_slips_then_finbot_never_fills_beyond_limit() -> None:
    def place(s: Any) -> None:
        close = float(s.data.close[0])
        s.buy(size=1, exectype=O.StopLimit, price=round(close * 1.001, 2), plimit=round(close * 1.003, 2))

    plan: Plan = {i: [place] for i in range(2, 50, 4)}
    setup = lambda c: c.broker.set_slippage_perc(0.01)  # noqa: E731
    back = run(None, daily, plan, setup=setup)
    factory = Keep()
    finbot = run(factory, daily, plan, setup=setup)
    back_prices = [r[7] for r in back["log"] if r[2] == "Completed"]
    finbot_prices = [r[7] for r in finbot["log"] if r[2] == "Completed"]
    assert back_prices != finbot_prices
    fills = factory.broker.fills_frame().merge(factory.broker.orders_frame()[["order_id", "limit_price"]],
                                               on="order_id")
    assert len(fills) == len(finbot_prices) > 0
    assert (fills["price"] <= fills["limit_price"]).all()
    # BackBroker lets slippage push some of the same fills above Finbot's (limit-capped) price.
    assert any(b > f for b, f in zip(back_prices, finbot_prices, strict=True))


def test_divergence_when_orderstatus_asked_then_finbot_answers_backbroker_crashes() -> None:
    answers: dict[str, Any] = {}

    class Probe(bt.Strategy):
        def next(self) -> None:
            if len(self) == 2:
                order = self.buy(size=1)
                try:
                    answers["status"] = self.broker.orderstatus(order)
                except AttributeError as exc:
                    answers["error"] = str(exc)

    for factory in (None, FinbotBroker):
        cerebro = bt.Cerebro()
        cerebro.adddata(pandas_feed(FRAME, name="A"))
        if factory is not None:
            cerebro.setbroker(factory())
        cerebro.addstrategy(Probe)
        cerebro.run()
    assert "int" in answers["error"]
    assert answers["status"] == O.Submitted


def test_divergence_when_get_value_of_two_datas_then_cached_total_unchanged() -> None:
    seen: list[tuple[float, float]] = []

    class Probe(bt.Strategy):
        def next(self) -> None:
            if len(self) == 3:
                self.buy(data=self.datas[0], size=5)
            if len(self) == 6:
                before = self.broker.getvalue()
                self.broker.getvalue(datas=list(self.datas))
                seen.append((before, self.broker.getvalue()))

    cerebro = bt.Cerebro()
    cerebro.adddata(pandas_feed(FRAME, name="A"))
    cerebro.adddata(pandas_feed(make_ohlcv(60, seed=4), name="B"))
    cerebro.setbroker(FinbotBroker())
    cerebro.addstrategy(Probe)
    cerebro.run()
    assert seen and seen[0][0] == seen[0][1]


def test_divergence_when_child_attached_to_filled_parent_then_it_works() -> None:
    plan: Plan = {
        3: [lambda s: s.keep("p", s.buy(size=2))],
        6: [lambda s: s.sell(size=2, exectype=O.Limit, price=float(s.data.close[0]) * 0.999,
                             parent=s.kept["p"])],
    }
    back, finbot = run(None, daily, plan), run(FinbotBroker, daily, plan)
    assert [r[2] for r in back["log"] if r[0] >= 7] == ["Submitted", "Accepted"]
    assert [r[2] for r in finbot["log"] if r[0] >= 7] == ["Submitted", "Accepted", "Completed"]


def test_parity_when_no_divergence_triggered_then_same_helper_says_equal() -> None:
    # Guard for the comparison helper itself: a real difference must be seen as one.
    assert same([1.0, ("a", 2.0)], [1.0 + 1e-12, ("a", 2.0)])
    assert not same([1.0], [1.001])
    assert not same((1, "Completed"), (1, "Partial"))


def test_record_events_when_off_then_no_event_log_kept_and_results_unchanged() -> None:
    plan: Plan = {3: [lambda s: s.buy(size=2)], 9: [lambda s: s.close()]}
    kept, dropped = Keep(), Keep(record_events=False)
    assert_same(run(kept, daily, plan), run(dropped, daily, plan))
    assert len(kept.broker.events) > 0 and len(kept.broker.fills_frame()) == 2
    assert dropped.broker.events == [] and dropped.broker.fills_frame().empty
