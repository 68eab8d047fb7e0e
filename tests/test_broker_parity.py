"""FinbotBroker() against bt.brokers.BackBroker(), side by side, scenario by scenario.

Every scenario runs twice in this process, once per broker, and must give the
same notification stream (status, sizes, prices, commissions, P&L, pending
execution bits), the same trades, the same cash and value at every bar.
Floats are compared rounded to 6 decimals: finbot_bt computes in exact
Decimal, BackBroker in binary floating point.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from tests.bt_harness import Plan, assert_same, csv_feed, make_ohlcv, pandas_feed, side_by_side, write_bt_csv

FRAME = make_ohlcv(140, seed=11)
FRAME_B = make_ohlcv(140, seed=23)
FRAME_VOL = make_ohlcv(80, seed=5, zero_volume_every=7)


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bt_csv(FRAME, tmp_path_factory.mktemp("data") / "a.csv")


def one_csv(path: Path) -> Any:
    return lambda: [csv_feed(path, name="A")]


def one_pandas() -> list[Any]:
    return [pandas_feed(FRAME, name="A")]


def two_pandas() -> list[Any]:
    return [pandas_feed(FRAME, name="A"), pandas_feed(FRAME_B, name="B")]


def every(step: int, *actions: Any, start: int = 2, stop: int = 130) -> Plan:
    return {i: list(actions) for i in range(start, stop, step)}


def merge(*plans: Plan) -> Plan:
    out: Plan = {}
    for plan in plans:
        for bar, actions in plan.items():
            out.setdefault(bar, []).extend(actions)
    return out


O = bt.Order  # noqa: E741


def limit_at(factor: float, side: str = "buy", **kw: Any) -> Any:
    return lambda s: getattr(s, side)(exectype=O.Limit, price=round(s.data.close[0] * factor, 2), **kw)


def stop_at(factor: float, side: str = "buy", **kw: Any) -> Any:
    return lambda s: getattr(s, side)(exectype=O.Stop, price=round(s.data.close[0] * factor, 2), **kw)


def stoplimit_at(factor: float, limit_factor: float, side: str = "buy") -> Any:
    return lambda s: getattr(s, side)(exectype=O.StopLimit, price=round(s.data.close[0] * factor, 2),
                                      plimit=round(s.data.close[0] * limit_factor, 2))


SCENARIOS: dict[str, Plan] = {
    "market_buys_and_sells": merge(every(5, lambda s: s.buy(size=3)), every(7, lambda s: s.sell(size=2))),
    "market_shorts_and_reversals": merge(
        every(9, lambda s: s.sell(size=5)), every(13, lambda s: s.buy(size=12)), every(17, lambda s: s.close())
    ),
    "close_orders": merge(every(6, lambda s: s.buy(size=2, exectype=O.Close)),
                          every(11, lambda s: s.sell(size=3, exectype=O.Close))),
    "limit_buys_gaps_and_touches": merge(every(3, limit_at(0.99)), every(4, limit_at(1.01)),
                                         every(5, limit_at(0.97)), every(8, lambda s: s.close())),
    "limit_sells_gaps_and_touches": merge(every(3, limit_at(1.01, "sell")), every(4, limit_at(0.99, "sell")),
                                          every(8, lambda s: s.close())),
    "stop_buys_and_sells": merge(every(4, stop_at(1.01)), every(5, stop_at(0.99, "sell")),
                                 every(6, stop_at(1.03)), every(9, lambda s: s.close())),
    "stop_limits": merge(every(3, stoplimit_at(1.01, 1.015)), every(4, stoplimit_at(1.01, 1.005)),
                         every(5, stoplimit_at(0.99, 0.985, "sell")), every(7, stoplimit_at(0.99, 0.995, "sell")),
                         every(10, lambda s: s.close())),
    "trailing_stops": merge(
        every(10, lambda s: s.buy(size=4)),
        every(10, lambda s: s.sell(size=4, exectype=O.StopTrail, trailamount=1.5), start=3),
        every(15, lambda s: s.sell(size=2, exectype=O.StopTrail, trailpercent=0.02), start=4),
        every(20, lambda s: s.buy(size=2, exectype=O.StopTrail, trailpercent=0.015), start=5),
    ),
    "trailing_stop_limits": merge(
        every(10, lambda s: s.buy(size=4)),
        every(10, lambda s: s.sell(size=4, exectype=O.StopTrailLimit, price=s.data.close[0],
                                   plimit=s.data.close[0] - 0.5, trailamount=1.0), start=3),
        every(12, lambda s: s.buy(size=2, exectype=O.StopTrailLimit, price=s.data.close[0],
                                  plimit=s.data.close[0] + 0.8, trailpercent=0.01), start=4),
    ),
    "validity_datetime_timedelta_gtc": merge(
        every(4, limit_at(0.98, valid=dt.timedelta(days=1))),
        every(5, limit_at(0.985, valid=dt.timedelta(days=3))),
        every(6, lambda s: s.buy(exectype=O.Limit, price=round(s.data.close[0] * 0.99, 2),
                                 valid=s.data.datetime.date(0) + dt.timedelta(days=2))),
        every(7, lambda s: s.sell(exectype=O.Stop, price=round(s.data.close[0] * 0.99, 2),
                                  valid=s.data.datetime.datetime(0) + dt.timedelta(days=4))),
        every(9, lambda s: s.buy(exectype=O.Limit, price=round(s.data.close[0] * 0.995, 2), valid=O.DAY)),
        every(11, lambda s: s.close()),
    ),
    "cancels_on_later_bars": merge(
        every(4, lambda s: s.keep("l", s.buy(exectype=O.Limit, price=round(s.data.close[0] * 0.97, 2)))),
        every(4, lambda s: s.cancel(s.kept["l"]), start=3),
        every(6, lambda s: s.keep("t", s.sell(exectype=O.Stop, price=round(s.data.close[0] * 0.95, 2)))),
        every(6, lambda s: s.cancel(s.kept["t"]), start=4),
        every(10, lambda s: s.close()),
    ),
    "oco_groups": merge(
        every(8, lambda s: s.keep("o1", s.buy(exectype=O.Limit, price=round(s.data.close[0] * 0.985, 2)))),
        every(8, lambda s: s.buy(exectype=O.Stop, price=round(s.data.close[0] * 1.015, 2), oco=s.kept["o1"])),
        every(8, lambda s: s.buy(exectype=O.Limit, price=round(s.data.close[0] * 0.97, 2), oco=s.kept["o1"])),
        every(12, lambda s: s.close(), start=5),
    ),
    "brackets": merge(
        every(12, lambda s: s.buy_bracket(size=5, price=round(s.data.close[0] * 0.995, 2),
                                          stopprice=round(s.data.close[0] * 0.97, 2),
                                          limitprice=round(s.data.close[0] * 1.03, 2))),
        every(12, lambda s: s.sell_bracket(size=3, exectype=O.Market,
                                           stopprice=round(s.data.close[0] * 1.02, 2),
                                           limitprice=round(s.data.close[0] * 0.98, 2)), start=8),
    ),
    "order_target_size_value_percent": merge(
        every(9, lambda s: s.order_target_size(target=7)),
        every(9, lambda s: s.order_target_value(target=2500.0), start=5),
        every(9, lambda s: s.order_target_percent(target=0.4), start=7),
        every(13, lambda s: s.order_target_size(target=-4), start=3),
        every(17, lambda s: s.close(), start=11),
    ),
    "margin_when_cash_is_short": merge(
        every(10, lambda s: s.buy(size=60)),
        every(10, lambda s: s.buy(size=60), start=3),
        every(10, lambda s: s.close(), start=6),
        every(15, lambda s: s.buy(size=95), start=4),
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS), ids=sorted(SCENARIOS))
def test_parity_when_scenario_runs_on_pandas_daily_then_streams_identical(name: str) -> None:
    expected, got = side_by_side(one_pandas, SCENARIOS[name])
    assert expected["log"], "scenario produced no notifications"
    assert_same(expected, got)


@pytest.mark.parametrize("name", ["market_buys_and_sells", "limit_buys_gaps_and_touches", "stop_limits",
                                  "validity_datetime_timedelta_gtc", "brackets", "close_orders"])
def test_parity_when_scenario_runs_on_csv_daily_then_streams_identical(name: str, csv_path: Path) -> None:
    expected, got = side_by_side(one_csv(csv_path), SCENARIOS[name])
    assert_same(expected, got)


MODES = [
    dict(runonce=True, preload=True, exactbars=False),
    dict(runonce=False, preload=True, exactbars=False),
    dict(runonce=False, preload=False, exactbars=False),
    dict(runonce=True, preload=True, exactbars=-1),
    dict(runonce=True, preload=True, exactbars=-2),
    dict(runonce=False, preload=False, exactbars=-2),
]


@pytest.mark.parametrize("mode", MODES, ids=[str(m) for m in MODES])
def test_parity_when_cerebro_mode_varies_then_streams_identical(mode: dict[str, Any], csv_path: Path) -> None:
    plan = merge(SCENARIOS["trailing_stops"], SCENARIOS["oco_groups"])
    expected, got = side_by_side(one_csv(csv_path), plan, **mode)
    assert_same(expected, got)


def _futures(s: Any) -> None:
    s.broker.setcommission(commission=2.0, margin=1000.0, mult=10.0)


def _futures_rich(s: Any) -> None:
    s.broker.set_cash(100_000.0)
    _futures(s)


def _percent(s: Any) -> None:
    s.broker.setcommission(commission=0.001)


def _fixed(s: Any) -> None:
    s.broker.setcommission(commission=2.0, commtype=bt.CommInfoBase.COMM_FIXED, stocklike=True)


@pytest.mark.parametrize("on_start", [_futures_rich, _percent, _fixed], ids=["futures", "percent", "fixed"])
def test_parity_when_commission_scheme_set_then_cash_and_pnl_identical(on_start: Any) -> None:
    plan = merge(SCENARIOS["market_shorts_and_reversals"], SCENARIOS["limit_buys_gaps_and_touches"])
    expected, got = side_by_side(one_pandas, plan, on_start=on_start)
    assert_same(expected, got)


def test_parity_when_futures_cash_runs_short_then_margin_identical() -> None:
    plan = merge(every(6, lambda s: s.buy(size=6)), every(11, lambda s: s.close(), start=4))
    expected, got = side_by_side(one_pandas, plan, on_start=_futures)
    assert any(entry[2] == "Margin" for entry in expected["log"])
    assert_same(expected, got)


def test_parity_when_accepted_order_fails_at_fill_then_margin_identical() -> None:
    # Cash 10,000; each buy costs about 9,900 at the close, so the second one
    # is accepted only when the first is sold first: gaps make some fail at the open.
    plan = merge(every(4, lambda s: s.buy(size=98)), every(4, lambda s: s.close(), start=3))
    expected, got = side_by_side(one_pandas, plan)
    assert_same(expected, got)


SLIPPAGE = {
    "perc_default_flags": lambda c: c.broker.set_slippage_perc(0.01),
    "perc_no_open": lambda c: c.broker.set_slippage_perc(0.01, slip_open=False),
    "perc_no_match": lambda c: c.broker.set_slippage_perc(0.02, slip_match=False, slip_limit=False),
    "perc_out": lambda c: c.broker.set_slippage_perc(0.02, slip_out=True),
    "fixed": lambda c: c.broker.set_slippage_fixed(0.35),
    "coc": lambda c: c.broker.set_coc(True),
}


@pytest.mark.parametrize("name", sorted(SLIPPAGE), ids=sorted(SLIPPAGE))
def test_parity_when_slippage_or_coc_set_then_fills_identical(name: str) -> None:
    # Stop-limit orders are left out, and limit orders when slip_out is on: there
    # BackBroker fills beyond the limit, which FinbotBroker refuses
    # (see test_broker_divergences.py).
    plans = [SCENARIOS["market_buys_and_sells"], SCENARIOS["stop_buys_and_sells"]]
    if name != "perc_out":
        plans += [SCENARIOS["limit_sells_gaps_and_touches"], SCENARIOS["limit_buys_gaps_and_touches"]]
    plan = merge(*plans)
    expected, got = side_by_side(one_pandas, plan, setup=SLIPPAGE[name])
    assert_same(expected, got)


FILLERS = {
    "fixed_size": lambda c: c.broker.set_filler(bt.broker.fillers.FixedSize(size=700)),
    "fixed_bar_perc": lambda c: c.broker.set_filler(bt.broker.fillers.FixedBarPerc(perc=20)),
    "bar_point_perc": lambda c: c.broker.set_filler(bt.broker.fillers.BarPointPerc(minmov=0.05, perc=40)),
}


@pytest.mark.parametrize("name", sorted(FILLERS), ids=sorted(FILLERS))
def test_parity_when_volume_filler_set_then_partials_identical(name: str) -> None:
    plan = merge(every(12, lambda s: s.buy(size=2500)), every(12, lambda s: s.sell(size=2500), start=8),
                 every(15, lambda s: s.buy(size=900, exectype=O.Limit,
                                           price=round(s.data.close[0] * 0.99, 2)), start=5))
    expected, got = side_by_side(lambda: [pandas_feed(FRAME_VOL, name="A")], plan, setup=FILLERS[name],
                                 on_start=lambda s: s.broker.set_cash(1_000_000))
    assert any(entry[2] == "Partial" for entry in expected["log"])
    assert_same(expected, got)


def test_parity_when_cheat_on_open_then_fills_at_same_bar_open() -> None:
    plan_open = merge(every(5, lambda s: s.buy(size=3)), every(8, lambda s: s.close(), start=4))
    expected, got = side_by_side(one_pandas, None, plan_open=plan_open, cheat_on_open=True)
    assert expected["log"]
    assert_same(expected, got)


def test_parity_when_add_cash_then_cash_value_and_fund_identical() -> None:
    plan = merge(every(20, lambda s: s.broker.add_cash(2500.0)), SCENARIOS["market_buys_and_sells"])
    expected, got = side_by_side(one_pandas, plan)
    assert_same(expected, got)


def test_parity_when_several_data_feeds_then_streams_identical() -> None:
    plan = merge(
        every(5, lambda s: s.buy(data=s.datas[1], size=3)),
        every(6, lambda s: s.sell(data=s.datas[0], size=2, exectype=O.Limit,
                                  price=round(s.datas[0].close[0] * 1.005, 2))),
        every(7, lambda s: s.buy(data=s.datas[0], size=4, exectype=O.Stop,
                                 price=round(s.datas[0].close[0] * 1.01, 2))),
        every(9, lambda s: [s.close(data=d) for d in s.datas]),
    )
    expected, got = side_by_side(two_pandas, plan)
    assert_same(expected, got)


def test_parity_when_standard_analyzers_attached_then_figures_identical() -> None:
    plan = merge(SCENARIOS["market_shorts_and_reversals"], SCENARIOS["brackets"])
    expected, got = side_by_side(one_pandas, plan, analyzers=True)
    assert expected["analyzers"]["trades"]["total"]["total"] > 3
    assert_same(expected, got)


def test_parity_when_trail_is_wider_than_the_price_then_stop_starts_below_zero_and_ratchets() -> None:
    cheap = FRAME.copy()
    cheap[["open", "high", "low", "close"]] = (cheap[["open", "high", "low", "close"]] / 60).round(4)
    plan = merge(
        every(10, lambda s: s.buy(size=4)),
        every(10, lambda s: s.sell(size=4, exectype=O.StopTrail, trailamount=1.5), start=3),
        every(12, lambda s: s.sell(size=2, exectype=O.StopTrailLimit, price=s.data.close[0],
                                   plimit=s.data.close[0] - 2.0, trailamount=2.5), start=4),
    )
    expected, got = side_by_side(lambda: [pandas_feed(cheap, name="A")], plan)
    assert any(entry[2] == "Accepted" and entry[4] == "StopTrail" for entry in expected["log"])
    assert_same(expected, got)


class MinimumCommission(bt.CommInfoBase):
    """A custom, non-linear scheme: 0.1 % of the value, at least 1.5 per fill part."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        return max(1.5, abs(size) * price * 0.001)


def test_parity_when_custom_commission_scheme_then_its_formula_is_used() -> None:
    plan = merge(SCENARIOS["market_shorts_and_reversals"], SCENARIOS["limit_buys_gaps_and_touches"])
    expected, got = side_by_side(
        one_pandas, plan, on_start=lambda s: s.broker.addcommissioninfo(MinimumCommission())
    )
    assert any(entry[8] == 1.5 for entry in expected["log"])  # the minimum applied somewhere
    assert_same(expected, got)


def test_parity_when_a_bracket_exit_is_refused_for_cash_then_the_whole_bracket_is_cancelled() -> None:
    # Short 110 at about 100 credits 11,000; the stop exit closes it; the take-profit exit then
    # would open a long of 110 that 10,000 of cash cannot pay for: Margin, and the bracket goes.
    plan = every(15, lambda s: s.sell_bracket(size=110, exectype=O.Market,
                                              stopprice=round(s.data.close[0] * 1.02, 2),
                                              limitprice=round(s.data.close[0] * 0.98, 2)))
    expected, got = side_by_side(one_pandas, plan)
    statuses = [entry[2] for entry in expected["log"]]
    assert "Margin" in statuses and "Canceled" in statuses
    assert_same(expected, got)
