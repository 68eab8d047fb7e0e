"""Tear-sheet figures: hand-computed on short known series, and cross-checked against empyrical-reloaded."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest

from finbot_bt.reports import performance as perf

# Four daily values over three business days of returns: +10 %, -10 %, +5 %.
DAYS = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
VALUES = pd.Series([100.0, 110.0, 99.0, 103.95], index=DAYS)
RETURNS = [0.10, -0.10, 0.05]


def _random_walk(periods: int, *, seed: int, freq: str = "B") -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-04", periods=periods, freq=freq)
    return pd.Series(100_000 * np.cumprod(1 + rng.normal(0.0004, 0.012, periods)), index=index)


def test_performance_when_known_series_then_hand_formulas_hold() -> None:
    result = perf.performance(VALUES)
    mean = sum(RETURNS) / 3
    std = math.sqrt(sum((r - mean) ** 2 for r in RETURNS) / 2)
    downside = math.sqrt((0 + 0.01 + 0) / 3)
    assert result.total_return_pct == pytest.approx(3.95)
    assert result.sharpe == pytest.approx(mean / std * math.sqrt(252))
    assert result.sortino == pytest.approx(mean / downside * math.sqrt(252))
    assert result.volatility_pct == pytest.approx(std * math.sqrt(252) * 100)
    assert result.max_drawdown_pct == pytest.approx(10.0)
    assert result.cagr_pct == pytest.approx((1.0395 ** (365.25 / 3) - 1) * 100)
    assert result.monthly_returns == (((2024, 1), pytest.approx(3.95)),)


def test_performance_when_intraday_bars_then_reduced_to_last_value_per_day() -> None:
    times = pd.DatetimeIndex(["2024-01-02 10:00", "2024-01-02 16:00", "2024-01-03 10:00", "2024-01-03 16:00"])
    values = pd.Series([100.0, 120.0, 90.0, 108.0], index=times)
    result = perf.performance(values)
    assert result.total_return_pct == pytest.approx(-10.0)  # 120 -> 108, closes of the two days
    assert result.max_drawdown_pct == pytest.approx(25.0)  # per bar: 120 -> 90
    assert math.isnan(result.sharpe)  # one daily return: no sample deviation


def test_performance_when_flat_curve_then_ratios_undefined_not_infinite() -> None:
    flat = pd.Series([100.0] * 5, index=pd.bdate_range("2024-01-01", periods=5))
    result = perf.performance(flat)
    assert math.isnan(result.sharpe) and math.isnan(result.sortino)
    assert result.volatility_pct == 0.0 and result.total_return_pct == 0.0 and result.cagr_pct == 0.0


def test_monthly_returns_when_months_span_then_compounded_per_month() -> None:
    index = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02", "2024-03-01"])
    values = pd.Series([100.0, 102.0, 99.96, 104.958, 104.958], index=index)
    months = dict(perf.monthly_returns(perf.daily_returns(values)))
    assert months[(2024, 1)] == pytest.approx(2.0)
    assert months[(2024, 2)] == pytest.approx((104.958 / 102.0 - 1) * 100)
    assert months[(2024, 3)] == pytest.approx(0.0)


@pytest.mark.parametrize(("freq", "expected"), [("B", 252), ("D", 252), ("W-FRI", 52), ("ME", 12),
                                                ("QE", 4), ("YE", 1)], ids=["business", "calendar", "weekly",
                                                                            "monthly", "quarterly", "yearly"])
def test_periods_per_year_when_spacing_given_then_matching_factor(freq: str, expected: int) -> None:
    assert perf.periods_per_year(pd.date_range("2020-01-01", periods=30, freq=freq)) == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_performance_when_random_walk_then_matches_empyrical(seed: int) -> None:
    values = _random_walk(400, seed=seed)
    result = perf.performance(values)
    returns = values.pct_change().dropna()
    years = (values.index[-1] - values.index[0]).days / 365.25
    assert result.sharpe == pytest.approx(empyrical.sharpe_ratio(returns, annualization=252))
    assert result.sortino == pytest.approx(empyrical.sortino_ratio(returns, annualization=252))
    assert result.volatility_pct == pytest.approx(empyrical.annual_volatility(returns, annualization=252) * 100)
    assert result.max_drawdown_pct == pytest.approx(-empyrical.max_drawdown(returns) * 100)
    # empyrical annualises by period count; give it the calendar's periods per year to compare CAGR.
    assert result.cagr_pct == pytest.approx(
        empyrical.annual_return(returns, annualization=len(returns) / years) * 100)
    theirs = empyrical.aggregate_returns(returns, "monthly") * 100
    assert [month for month, _ in result.monthly_returns] == [tuple(map(int, k)) for k in theirs.index]
    assert [pct for _, pct in result.monthly_returns] == pytest.approx(list(theirs))


def test_performance_when_weekly_bars_then_annualised_by_52_like_empyrical() -> None:
    values = _random_walk(120, seed=5, freq="W-FRI")
    returns = values.pct_change().dropna()
    result = perf.performance(values)
    assert result.sharpe == pytest.approx(empyrical.sharpe_ratio(returns, period="weekly"))
    assert result.volatility_pct == pytest.approx(empyrical.annual_volatility(returns, period="weekly") * 100)


def test_trade_stats_when_known_trades_then_hand_figures() -> None:
    assert perf.win_rate_pct([10.0, -5.0, 20.0, 0.0]) == pytest.approx(50.0)
    assert perf.profit_factor([10.0, -5.0, 20.0, -10.0]) == pytest.approx(2.0)
    assert perf.profit_factor([10.0]) == math.inf
    assert math.isnan(perf.profit_factor([])) and math.isnan(perf.win_rate_pct([]))


def test_exposure_when_position_opened_and_closed_then_fraction_of_bars_held() -> None:
    bars = pd.date_range("2024-01-01", periods=10, freq="D")
    fills = pd.DataFrame({
        "timestamp": pd.to_datetime(["2024-01-03 09:30", "2024-01-06 09:30", "2024-01-05 09:30"]),
        "symbol": ["A", "A", "B"],
        "position_quantity": [100.0, 0.0, -5.0],
    })
    # A held at the ends of Jan 3, 4, 5; B short from Jan 5 to the end (6 bars): 3 + 6 - 1 overlap = 8 bars.
    assert perf.exposure_pct(bars + pd.Timedelta(hours=23), fills) == pytest.approx(80.0)
    assert perf.exposure_pct(bars, fills.iloc[0:0]) == 0.0


def test_turnover_when_fills_then_traded_value_over_mean_value() -> None:
    fills = pd.DataFrame({"quantity": [10.0, 10.0], "price": [100.0, 110.0]})
    values = pd.Series([1000.0, 1100.0, 1200.0])
    assert perf.turnover(fills, values) == pytest.approx(2100.0 / 1100.0)


def test_buy_and_hold_when_closes_given_then_scaled_to_starting_value() -> None:
    closes = pd.Series([50.0, 55.0, 45.0])
    assert list(perf.buy_and_hold(closes, 1000.0)) == pytest.approx([1000.0, 1100.0, 900.0])


def test_performance_when_run_within_one_day_then_ratios_undefined_and_no_months() -> None:
    times = pd.date_range("2024-01-02 09:30", periods=50, freq="5min")
    result = perf.performance(pd.Series(np.linspace(100.0, 101.0, 50), index=times))
    assert result.total_return_pct == 0.0  # one daily value: first and last are the same day's close
    assert all(math.isnan(v) for v in (result.sharpe, result.sortino, result.volatility_pct, result.cagr_pct))
    assert result.monthly_returns == ()
