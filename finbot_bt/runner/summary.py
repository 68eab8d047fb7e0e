"""One run summed up: value, return, drawdown, trades, fills, rejections, latency, costs.

Figures come from the broker's event log (:mod:`finbot_bt.broker.frames`)
and its equity curve; ``trades`` counts closed trades (Backtrader's
TradeAnalyzer, when the run has one named ``trades``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


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
    notes : tuple of str
        What a reader must know to read the figures (which prices were used, data
        warnings such as a volume cap on a feed without volume); printed under the table.
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
    notes: tuple[str, ...] = ()

    @property
    def rejected(self) -> int:
        """Total rejected orders."""
        return sum(count for _, count in self.rejections)


def max_drawdown_pct(values: pd.Series) -> float:
    """Largest ``(peak - value) / peak * 100`` over the series (0 for an empty one)."""
    if values.empty:
        return 0.0
    peak = values.cummax()
    drawdown = (peak - values) / peak * 100
    return float(drawdown.max())


def summarize(label: str, broker: Any, strategy: Any = None, notes: Sequence[str] = ()) -> RunSummary:
    """Summarise a finished run of ``broker`` (a FinbotBroker); ``strategy`` supplies the trade count.

    ``notes`` come first, then the broker's data warnings (``broker.data_warnings``).
    """
    fills = broker.fills_frame()
    rejections = broker.rejections_frame()
    equity = broker.equity_frame()
    starting = float(broker.startingcash)
    final = float(broker.getvalue())
    counts = rejections["reason"].value_counts().sort_index() if not rejections.empty else pd.Series()
    latency = fills["latency_seconds"].median() * 1000 if not fills.empty else None
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
        notes=(*notes, *(f"warning: {w}" for w in getattr(broker, "data_warnings", ()))),
    )


def _closed_trades(strategy: Any) -> int:
    if strategy is None:
        return 0
    analyzer = strategy.analyzers.getbyname("trades") if "trades" in strategy.analyzers.getnames() else None
    if analyzer is None:
        return 0
    analysis = analyzer.get_analysis()
    total = analysis.get("total", {})
    return int(total.get("closed", 0))


def summary_rows(summaries: Sequence[RunSummary]) -> list[tuple[str, list[str]]]:
    """Table rows ``(metric, [value per summary])``, rejections broken down by reason."""
    reasons = sorted({reason for s in summaries for reason, _ in s.rejections})

    def each(fmt: Any) -> list[str]:
        return [fmt(s) for s in summaries]

    rows: list[tuple[str, list[str]]] = [
        ("final value", each(lambda s: f"{s.final_value:,.2f}")),
        ("return", each(lambda s: f"{s.return_pct:+.2f} %")),
        ("max drawdown", each(lambda s: f"{s.max_drawdown_pct:.2f} %")),
        ("trades", each(lambda s: str(s.trades))),
        ("orders", each(lambda s: str(s.orders))),
        ("fills", each(lambda s: str(s.fills))),
        ("partial fills", each(lambda s: str(s.partial_fills))),
        ("rejections", each(lambda s: str(s.rejected))),
    ]
    for reason in reasons:
        rows.append((f"  {reason}", each(lambda s, r=reason: str(dict(s.rejections).get(r, 0)))))
    rows += [
        ("median latency", each(lambda s: _duration(s.median_latency_ms))),
        ("total slippage", each(lambda s: f"{s.total_slippage:,.2f}")),
        ("total commission", each(lambda s: f"{s.total_commission:,.2f}")),
    ]
    return rows


def _duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 10_000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:,.1f} s"


def format_table(summaries: Sequence[RunSummary]) -> str:
    """Plain-text table, one column per run, aligned for a terminal."""
    rows = summary_rows(summaries)
    header = ["", *[s.label for s in summaries]]
    first = max(len(header[0]), *(len(name) for name, _ in rows))
    widths = [max(len(s.label), *(len(values[i]) for _, values in rows)) for i, s in enumerate(summaries)]
    lines = ["  ".join([header[0].ljust(first), *(h.rjust(w) for h, w in zip(header[1:], widths, strict=True))])]
    lines.append("  ".join(["-" * first, *("-" * w for w in widths)]))
    for name, values in rows:
        lines.append("  ".join([name.ljust(first), *(v.rjust(w) for v, w in zip(values, widths, strict=True))]))
    notes = [(s.label, note) for s in summaries for note in s.notes]
    if notes:
        lines.append("")
        lines += [f"{label}: {note}" if len(summaries) > 1 else note for label, note in notes]
    return "\n".join(lines)


def summary_frame(summaries: Sequence[RunSummary]) -> pd.DataFrame:
    """The same table as a DataFrame (metrics as index, one column per run)."""
    rows = summary_rows(summaries)
    return pd.DataFrame([values for _, values in rows], index=[name.strip() for name, _ in rows],
                        columns=[s.label for s in summaries])


__all__ = ["RunSummary", "format_table", "max_drawdown_pct", "summarize", "summary_frame", "summary_rows"]
