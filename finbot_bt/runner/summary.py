"""One run summed up: value, return, risk, trades, exposure, fills, rejections, latency, costs.

Figures come from the broker's event log (:mod:`finbot_bt.broker.frames`)
and its equity curve; ``trades`` counts closed trades (Backtrader's
TradeAnalyzer, when the run has one named ``trades``); win rate and profit
factor use the per-trade P&L of a :class:`~finbot_bt.broker.engine.TradeLog`
analyzer named ``trade_log``. The tear-sheet formulas (Sharpe, Sortino, CAGR,
volatility, exposure, turnover, monthly returns) are in
:mod:`finbot_bt.reports.performance`. Tables put a buy-and-hold benchmark of
the first feed beside the runs. A figure that does not apply is shown as ``-``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from finbot_bt.reports.figures import MONTHS
from finbot_bt.reports.performance import (
    Performance,
    TradeStats,
    buy_and_hold,
    max_drawdown_pct,
    performance,
    trade_stats,
)
from finbot_bt.reports.writer import MISSING

TRADE_LOG_NAME = "trade_log"
"""Name under which :func:`finbot_bt.runner.backtest.run_backtest` adds the TradeLog analyzer."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """Headline figures of one run.

    Attributes
    ----------
    label : str
        Column name in tables (e.g. ``"FinbotBroker(normal)"``).
    starting_value, final_value : float
        Portfolio value at the start and the end, quote currency.
    return_pct : float
        ``(final / starting - 1) * 100``, percent.
    max_drawdown_pct : float
        Largest peak-to-trough fall of the per-bar value, percent (>= 0).
    trades : int
        Closed round-trip trades.
    orders, fills, partial_fills : int
        Orders sent, fill events, and fills that left the order partly open.
    rejections : tuple of (reason, count)
        Rejected orders per reason code, sorted by reason.
    median_latency_ms : float or None
        Median submission-plus-report latency of fills, milliseconds; None without fills.
    total_slippage, total_commission : float
        Sum over fills of ``slippage * quantity`` and of commission, quote currency.
    performance : Performance or None
        Sharpe, Sortino, CAGR, volatility, monthly returns of the equity curve.
    trading : TradeStats or None
        Win rate, profit factor, exposure and turnover.
    benchmark : Performance or None
        The same return figures for buy-and-hold of the first feed.
    benchmark_label : str
        Column name of the benchmark (``"buy & hold SYMBOL"``).
    """

    label: str
    starting_value: float
    final_value: float
    return_pct: float
    max_drawdown_pct: float
    trades: int
    orders: int
    fills: int
    partial_fills: int
    rejections: tuple[tuple[str, int], ...] = field(default=())
    median_latency_ms: float | None = None
    total_slippage: float = 0.0
    total_commission: float = 0.0
    performance: Performance | None = None
    trading: TradeStats | None = None
    benchmark: Performance | None = None
    benchmark_label: str = ""

    @property
    def rejected(self) -> int:
        """Total rejected orders."""
        return sum(count for _, count in self.rejections)


def summarize(label: str, broker: Any, strategy: Any = None,
              prices: Mapping[str, pd.DataFrame] | None = None) -> RunSummary:
    """Summarise a finished run of ``broker`` (a FinbotBroker).

    ``strategy`` supplies the trade count and per-trade P&L (its ``trades``
    and ``trade_log`` analyzers); ``prices`` (symbol to a frame with
    ``close``) supplies the buy-and-hold benchmark of its first symbol.
    """
    fills = broker.fills_frame()
    rejections = broker.rejections_frame()
    equity = broker.equity_frame()
    starting = float(broker.startingcash)
    final = float(broker.getvalue())
    counts = rejections["reason"].value_counts().sort_index() if not rejections.empty else pd.Series()
    latency = fills["latency_seconds"].median() * 1000 if not fills.empty else None
    benchmark, benchmark_label = _benchmark(prices, starting)
    values = equity["value"]
    return RunSummary(
        label=label,
        starting_value=starting,
        final_value=final,
        return_pct=(final / starting - 1) * 100 if starting > 0 else 0.0,
        max_drawdown_pct=max_drawdown_pct(equity["value"]),
        trades=_closed_trades(strategy),
        orders=len(broker.orders_frame()),
        fills=len(fills),
        partial_fills=int(fills["is_partial"].sum()) if not fills.empty else 0,
        rejections=tuple((str(reason), int(count)) for reason, count in counts.items()),
        median_latency_ms=None if latency is None else float(latency),
        total_slippage=float(fills["slippage_cost"].sum()) if not fills.empty else 0.0,
        total_commission=float(fills["commission"].sum()) if not fills.empty else 0.0,
        performance=performance(values) if not values.empty else None,
        trading=trade_stats(_trade_pnls(strategy), fills, values),
        benchmark=benchmark,
        benchmark_label=benchmark_label,
    )


def _benchmark(prices: Mapping[str, pd.DataFrame] | None, starting: float) -> tuple[Performance | None, str]:
    if not prices:
        return None, ""
    symbol, frame = next(iter(prices.items()))
    values = buy_and_hold(frame["close"], starting)
    return (performance(values), f"buy & hold {symbol}") if not values.empty else (None, "")


def _trade_pnls(strategy: Any) -> list[float]:
    if strategy is None or TRADE_LOG_NAME not in strategy.analyzers.getnames():
        return []
    return [float(record[4]) for record in strategy.analyzers.getbyname(TRADE_LOG_NAME).get_analysis()]


def _closed_trades(strategy: Any) -> int:
    if strategy is None:
        return 0
    analyzer = strategy.analyzers.getbyname("trades") if "trades" in strategy.analyzers.getnames() else None
    if analyzer is None:
        return 0
    analysis = analyzer.get_analysis()
    total = analysis.get("total", {})
    return int(total.get("closed", 0))


def _number(value: float | None, fmt: str, suffix: str = "") -> str:
    if value is None or math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:{fmt}}{suffix}"


def _benchmark_of(summaries: Sequence[RunSummary]) -> RunSummary | None:
    for s in summaries:
        if s.benchmark is not None:
            return s
    return None


def summary_columns(summaries: Sequence[RunSummary], *, benchmark: bool = True) -> list[str]:
    """Column names of :func:`summary_rows`: the run labels, then the benchmark's if shown."""
    columns = [s.label for s in summaries]
    source = _benchmark_of(summaries) if benchmark else None
    return [*columns, source.benchmark_label] if source is not None else columns


def summary_rows(summaries: Sequence[RunSummary], *, benchmark: bool = True) -> list[tuple[str, list[str]]]:
    """Table rows ``(metric, [value per column])``, rejections broken down by reason.

    With ``benchmark`` (and prices to build it from), a last column holds
    buy-and-hold of the first feed, from the first summary that has one;
    figures that do not apply to it (trades, orders, costs) are ``-``.
    """
    reasons = sorted({reason for s in summaries for reason, _ in s.rejections})
    source = _benchmark_of(summaries) if benchmark else None
    bench = source.benchmark if source is not None else None

    def perf(fmt: Callable[[Performance], float], spec: str, suffix: str = "") -> list[str]:
        values = [_number(fmt(s.performance), spec, suffix) if s.performance else MISSING for s in summaries]
        return values + ([_number(fmt(bench), spec, suffix)] if bench is not None else [])

    def each(fmt: Callable[[RunSummary], str], bench_value: str = MISSING) -> list[str]:
        return [fmt(s) for s in summaries] + ([bench_value] if bench is not None else [])

    def trading(fmt: Callable[[TradeStats], float], spec: str, suffix: str = "", bench_value: str = MISSING
                ) -> list[str]:
        return each(lambda s: _number(fmt(s.trading), spec, suffix) if s.trading else MISSING, bench_value)

    bench_final = (source.starting_value * (1 + bench.total_return_pct / 100)
                   if source is not None and bench is not None else math.nan)
    rows: list[tuple[str, list[str]]] = [
        ("final value", each(lambda s: f"{s.final_value:,.2f}", _number(bench_final, ",.2f"))),
        ("return", each(lambda s: f"{s.return_pct:+.2f} %",
                        _number(bench.total_return_pct if bench else None, "+.2f", " %"))),
        ("CAGR", perf(lambda p: p.cagr_pct, "+.2f", " %")),
        ("volatility", perf(lambda p: p.volatility_pct, ".2f", " %")),
        ("Sharpe", perf(lambda p: p.sharpe, ".2f")),
        ("Sortino", perf(lambda p: p.sortino, ".2f")),
        ("max drawdown", each(lambda s: f"{s.max_drawdown_pct:.2f} %",
                              _number(bench.max_drawdown_pct if bench else None, ".2f", " %"))),
        ("trades", each(lambda s: str(s.trades))),
        ("win rate", trading(lambda t: t.win_rate_pct, ".1f", " %")),
        ("profit factor", trading(lambda t: t.profit_factor, ".2f")),
        ("exposure", trading(lambda t: t.exposure_pct, ".1f", " %", bench_value="100.0 %")),
        ("turnover", trading(lambda t: t.turnover, ".2f", "x")),
        ("orders", each(lambda s: str(s.orders))),
        ("fills", each(lambda s: str(s.fills))),
        ("partial fills", each(lambda s: str(s.partial_fills))),
        ("rejections", each(lambda s: str(s.rejected))),
    ]
    for reason in reasons:
        rows.append((f"  {reason}", each(_rejected_for(reason))))
    rows += [
        ("median latency", each(lambda s: _duration(s.median_latency_ms))),
        ("total slippage", each(lambda s: f"{s.total_slippage:,.2f}")),
        ("total commission", each(lambda s: f"{s.total_commission:,.2f}")),
    ]
    return rows


def _rejected_for(reason: str) -> Callable[[RunSummary], str]:
    return lambda s: str(dict(s.rejections).get(reason, 0))


def _duration(ms: float | None) -> str:
    if ms is None:
        return MISSING
    if ms < 10_000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:,.1f} s"


def _aligned(header: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    first = max(len(header[0]), *(len(name) for name, _ in rows))
    widths = [max(len(h), *(len(values[i]) for _, values in rows)) for i, h in enumerate(header[1:])]
    lines = ["  ".join([header[0].ljust(first), *(h.rjust(w) for h, w in zip(header[1:], widths, strict=True))])]
    lines.append("  ".join(["-" * first, *("-" * w for w in widths)]))
    for name, values in rows:
        lines.append("  ".join([name.ljust(first), *(v.rjust(w) for v, w in zip(values, widths, strict=True))]))
    return lines


def monthly_rows(summaries: Sequence[RunSummary], *, benchmark: bool = True) -> list[tuple[str, list[str]]]:
    """Monthly returns, one row per run and year: ``("label year", [Jan .. Dec, year])`` in percent.

    The year column compounds the months shown; a month without data is ``-``.
    The benchmark (see :func:`summary_rows`) comes last.
    """
    series: list[tuple[str, Performance]] = [(s.label, s.performance) for s in summaries if s.performance]
    source = _benchmark_of(summaries) if benchmark else None
    if source is not None and source.benchmark is not None:
        series.append((source.benchmark_label, source.benchmark))
    rows: list[tuple[str, list[str]]] = []
    for label, perf in series:
        by_year: dict[int, dict[int, float]] = {}
        for (year, month), pct in perf.monthly_returns:
            by_year.setdefault(year, {})[month] = pct
        for year, months in by_year.items():
            compounded = math.prod(1 + pct / 100 for pct in months.values()) - 1
            cells = [_number(months.get(m), "+.1f") for m in range(1, 13)]
            rows.append((f"{label} {year}", [*cells, _number(compounded * 100, "+.1f")]))
    return rows


def format_table(summaries: Sequence[RunSummary], *, benchmark: bool = True, monthly: bool = True) -> str:
    """Plain-text table, one column per run (and the benchmark), aligned for a terminal.

    With ``monthly``, a second table of monthly returns (percent) follows.
    """
    lines = _aligned(["", *summary_columns(summaries, benchmark=benchmark)],
                     summary_rows(summaries, benchmark=benchmark))
    months = monthly_rows(summaries, benchmark=benchmark) if monthly else []
    if months:
        lines += ["", *_aligned(["monthly returns, %", *MONTHS, "year"], months)]
    return "\n".join(lines)


def summary_frame(summaries: Sequence[RunSummary], *, benchmark: bool = True) -> pd.DataFrame:
    """The same table as a DataFrame (metrics as index, one column per run, then the benchmark)."""
    rows = summary_rows(summaries, benchmark=benchmark)
    return pd.DataFrame([values for _, values in rows], index=[name.strip() for name, _ in rows],
                        columns=summary_columns(summaries, benchmark=benchmark))


__all__ = ["MISSING", "MONTHS", "RunSummary", "TRADE_LOG_NAME", "format_table", "max_drawdown_pct",
           "monthly_rows", "summarize", "summary_columns", "summary_frame", "summary_rows"]
