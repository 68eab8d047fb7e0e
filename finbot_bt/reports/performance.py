"""Tear-sheet figures of a value curve: returns, risk, trades, exposure, turnover, monthly returns.

Pure functions over pandas objects; no backtrader here. Every ratio is
computed from **daily** simple returns: the value curve is reduced to its last
value per calendar day first, so daily and intraday runs are annualised alike.
Undefined figures (too few returns, zero variance, no trades) are NaN.

Why these are computed here rather than by a library: quantstats, ffn and
empyrical-reloaded were evaluated against the supported pandas (3.x) and
numpy (2.x). empyrical-reloaded 0.7 installs and runs warning-free, but brings
scipy (about 110 MB installed) and pins an unrelated ORM (``peewee<3.17.4``)
into every user's environment; quantstats 0.0.x brings yfinance, curl_cffi,
seaborn, lxml and protobuf; ffn 1.4 brings scikit-learn and scipy. The return
figures are one line each, so they are written out below with their formulas,
and the test suite checks them against empyrical-reloaded (installed with the
``test`` extra only) and against hand computations on short known series.

Formulas, with ``r_1 .. r_n`` the daily simple returns, ``P`` the periods per
year (:func:`periods_per_year`) and ``V`` the daily values:

* total return: ``V_last / V_first - 1``
* CAGR: ``(V_last / V_first) ** (1 / years) - 1``, ``years`` = calendar days
  between the first and last value / 365.25
* volatility: ``std(r, ddof=1) * sqrt(P)``
* Sharpe: ``mean(r) / std(r, ddof=1) * sqrt(P)`` (risk-free rate 0)
* Sortino: ``mean(r) / sqrt(mean(min(r, 0) ** 2)) * sqrt(P)`` (target 0,
  downside deviation over all periods)
* max drawdown: ``max_t (peak_t - V_t) / peak_t`` over the per-bar curve
* monthly return: ``prod(1 + r) - 1`` over the returns dated in that month
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25
"""Calendar days per year, for CAGR."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Performance:
    """Return and risk figures of one value curve (a run's equity, or a buy-and-hold benchmark).

    Attributes
    ----------
    total_return_pct : float
        ``(last / first - 1) * 100``, percent.
    cagr_pct : float
        Compound annual growth rate, percent; NaN for a curve shorter than a day.
    volatility_pct : float
        Annualised standard deviation of daily returns, percent.
    sharpe, sortino : float
        Annualised ratios of daily returns (risk-free rate and target 0).
    max_drawdown_pct : float
        Largest peak-to-trough fall of the per-bar curve, percent (>= 0).
    monthly_returns : tuple of ((year, month), percent)
        Compounded return of each calendar month, in date order.
    """

    total_return_pct: float
    cagr_pct: float
    volatility_pct: float
    sharpe: float
    sortino: float
    max_drawdown_pct: float
    monthly_returns: tuple[tuple[tuple[int, int], float], ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeStats:
    """Trading-activity figures of one run.

    Attributes
    ----------
    win_rate_pct : float
        Closed trades with positive P&L after commission / closed trades * 100; NaN without trades.
    profit_factor : float
        Gross profit / gross loss of closed trades (after commission); ``inf``
        with profits and no losses, NaN without either.
    exposure_pct : float
        Bars ending with a non-zero position in any symbol / bars * 100.
    turnover : float
        Traded value (``sum |quantity * price|`` over fills) / mean portfolio
        value: how many times the book was traded over the run.
    """

    win_rate_pct: float
    profit_factor: float
    exposure_pct: float
    turnover: float


def daily_values(values: pd.Series) -> pd.Series:
    """The last value of each calendar day, indexed by the day (midnight timestamps)."""
    series = values.astype(float)
    if series.empty:
        return series
    index = pd.DatetimeIndex(series.index)
    return series.groupby(index.normalize()).last()


def daily_returns(values: pd.Series) -> pd.Series:
    """Simple returns between consecutive daily values (``V_t / V_{t-1} - 1``)."""
    return daily_values(values).pct_change().dropna()


def periods_per_year(days: pd.Index) -> int:
    """Return periods per year for annualising, from the median gap between daily observations.

    Gaps of up to 4 calendar days mean daily bars (252 trading days), up to 10
    weekly (52), up to 45 monthly (12), up to 120 quarterly (4), longer yearly (1).
    A series with fewer than two days counts as daily.
    """
    if len(days) < 2:
        return 252
    gap = float(pd.Series(pd.DatetimeIndex(days)).diff().dropna().median().total_seconds()) / 86_400
    for limit, periods in ((4, 252), (10, 52), (45, 12), (120, 4)):
        if gap <= limit:
            return periods
    return 1


def max_drawdown_pct(values: pd.Series) -> float:
    """Largest ``(peak - value) / peak * 100`` over the series, ``peak`` the running maximum (0 if empty)."""
    if values.empty:
        return 0.0
    series = values.astype(float)
    peak = series.cummax()
    return float(((peak - series) / peak * 100).max())


def sharpe_ratio(returns: pd.Series, periods: int) -> float:
    """``mean(r) / std(r, ddof=1) * sqrt(periods)``; NaN with fewer than two returns or zero variance."""
    if len(returns) < 2:
        return math.nan
    std = float(returns.std(ddof=1))
    if not std > 1e-15:
        return math.nan
    return float(returns.mean()) / std * math.sqrt(periods)


def sortino_ratio(returns: pd.Series, periods: int) -> float:
    """``mean(r) / sqrt(mean(min(r, 0)**2)) * sqrt(periods)``; NaN without returns or without a loss."""
    if returns.empty:
        return math.nan
    downside = math.sqrt(float((returns.clip(upper=0.0) ** 2).mean()))
    if not downside > 1e-15:
        return math.nan
    return float(returns.mean()) / downside * math.sqrt(periods)


def volatility_pct(returns: pd.Series, periods: int) -> float:
    """``std(r, ddof=1) * sqrt(periods) * 100``; NaN with fewer than two returns."""
    if len(returns) < 2:
        return math.nan
    return float(returns.std(ddof=1)) * math.sqrt(periods) * 100


def cagr_pct(days: pd.Series) -> float:
    """``((last / first) ** (1 / years) - 1) * 100``, years by the calendar; NaN under a day or from 0."""
    if len(days) < 2:
        return math.nan
    first, last = float(days.iloc[0]), float(days.iloc[-1])
    span = (pd.Timestamp(days.index[-1]) - pd.Timestamp(days.index[0])).total_seconds() / 86_400
    if span <= 0 or not first > 0 or last < 0:
        return math.nan
    return float(((last / first) ** (DAYS_PER_YEAR / span) - 1) * 100)


def monthly_returns(returns: pd.Series) -> tuple[tuple[tuple[int, int], float], ...]:
    """``prod(1 + r) - 1`` per calendar month of the daily returns, percent, as ``((year, month), pct)``."""
    if returns.empty:
        return ()
    index = pd.DatetimeIndex(returns.index)
    grouped = (1.0 + returns).groupby([index.year, index.month]).prod() - 1.0
    return tuple(((int(year), int(month)), float(value) * 100) for (year, month), value in grouped.items())


def performance(values: pd.Series) -> Performance:
    """Return and risk figures of a value curve indexed by time (per bar, any frequency)."""
    days = daily_values(values)
    returns = days.pct_change().dropna()
    periods = periods_per_year(days.index)
    total = float(days.iloc[-1]) / float(days.iloc[0]) - 1 if len(days) and float(days.iloc[0]) > 0 else math.nan
    return Performance(
        total_return_pct=total * 100,
        cagr_pct=cagr_pct(days),
        volatility_pct=volatility_pct(returns, periods),
        sharpe=sharpe_ratio(returns, periods),
        sortino=sortino_ratio(returns, periods),
        max_drawdown_pct=max_drawdown_pct(values),
        monthly_returns=monthly_returns(returns),
    )


def buy_and_hold(closes: pd.Series, starting_value: float) -> pd.Series:
    """Value of ``starting_value`` put into the first close and held: ``starting * close / close_0``."""
    series = closes.astype(float).dropna()
    if series.empty or not float(series.iloc[0]) > 0:
        return pd.Series(dtype=float)
    return series / float(series.iloc[0]) * starting_value


def win_rate_pct(trade_pnls: Sequence[float]) -> float:
    """Trades with P&L > 0 / trades * 100; NaN without trades."""
    if not trade_pnls:
        return math.nan
    return sum(1 for pnl in trade_pnls if pnl > 0) / len(trade_pnls) * 100


def profit_factor(trade_pnls: Sequence[float]) -> float:
    """``sum(P&L > 0) / -sum(P&L < 0)``; ``inf`` without losses, NaN without profits or losses."""
    profit = sum(pnl for pnl in trade_pnls if pnl > 0)
    loss = -sum(pnl for pnl in trade_pnls if pnl < 0)
    if loss > 0:
        return profit / loss
    return math.inf if profit > 0 else math.nan


def exposure_pct(bar_times: pd.Index, fills: pd.DataFrame) -> float:
    """Bars ending with a non-zero position / bars * 100.

    ``fills`` needs ``timestamp``, ``symbol`` and ``position_quantity`` (the
    position after the fill, as in ``broker.fills_frame()``); a bar holds the
    position of the last fill at or before its time.
    """
    if len(bar_times) == 0:
        return math.nan
    bars = pd.DatetimeIndex(bar_times)
    held = np.zeros(len(bars), dtype=bool)
    if not fills.empty:
        ordered = fills.sort_values("timestamp", kind="stable")
        for _, own in ordered.groupby("symbol", sort=True):
            times = pd.DatetimeIndex(own["timestamp"])
            last = times.searchsorted(bars, side="right") - 1
            position = own["position_quantity"].to_numpy(dtype=float)
            held |= (last >= 0) & (position[np.maximum(last, 0)] != 0)
    return float(held.mean() * 100)


def turnover(fills: pd.DataFrame, values: pd.Series) -> float:
    """``sum |quantity * price|`` over fills / mean of ``values``; 0 without fills, NaN without values."""
    if values.empty or not float(values.mean()) > 0:
        return math.nan
    if fills.empty:
        return 0.0
    traded = (fills["quantity"].astype(float) * fills["price"].astype(float)).abs().sum()
    return float(traded) / float(values.mean())


def trade_stats(trade_pnls: Iterable[float], fills: pd.DataFrame, values: pd.Series) -> TradeStats:
    """Win rate, profit factor, exposure and turnover of one run (see each function for its formula)."""
    pnls = [float(p) for p in trade_pnls]
    return TradeStats(win_rate_pct=win_rate_pct(pnls), profit_factor=profit_factor(pnls),
                      exposure_pct=exposure_pct(values.index, fills), turnover=turnover(fills, values))


__all__ = [
    "DAYS_PER_YEAR", "Performance", "TradeStats", "buy_and_hold", "cagr_pct", "daily_returns", "daily_values",
    "exposure_pct", "max_drawdown_pct", "monthly_returns", "performance", "periods_per_year", "profit_factor",
    "sharpe_ratio", "sortino_ratio", "trade_stats", "turnover", "volatility_pct", "win_rate_pct",
]
