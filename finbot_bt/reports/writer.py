"""Write a report directory: one PNG per figure and ``report.html`` with everything inlined.

``report.html`` embeds the PNGs as base64 ``data:`` URIs and its CSS inline,
so it can be mailed or attached to a CI run on its own. Output is
deterministic: no timestamps, no random ids.

The page is responsive: it is at most 1000 px wide, narrower on a narrow
window, and wide tables scroll sideways inside their own box instead of
widening the page. Tables print share counts as whole numbers, money with two
decimals, prices with as many decimals as they need (2 to 4), and a missing
value as ``-`` (:data:`MISSING`, also used by the terminal summary). A
figure with nothing to draw (no fills, no rejections) is left out, with a
one-line note in its place.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from finbot_bt.reports import figures
from finbot_bt.reports.data import ReportData, equity_frames
from finbot_bt.reports.performance import performance

FIGURE_NAMES: tuple[str, ...] = ("equity", "monthly", "price", "latency", "costs", "rejections")
"""Figure names, in report order; each drawn figure is written as ``<name>.png``."""

MISSING = "-"
"""A value that does not apply or is not known, in every table of the page."""
TABLE_ROWS = 200
MONEY_COLUMNS = frozenset({"commission", "slippage_cost", "realized_pnl", "cash", "value"})
"""Columns in quote currency: printed with two decimals."""
CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1000px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: 0.5em 0; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; } img { max-width: 100%; height: auto; } .note { color: #666; font-size: 0.85em; }
"""
_TITLES = {
    "equity": "Equity and drawdown",
    "monthly": "Monthly returns",
    "price": "Price with fills and rejected orders",
    "latency": "Latency distribution",
    "costs": "Slippage and commission over time",
    "rejections": "Rejections by reason",
}
_EMPTY_NOTES = {
    "equity": "No equity was recorded.",
    "monthly": "No monthly returns: the run spans less than two days.",
    "price": "No prices and no fills to draw.",
    "latency": "No fills, so no latencies.",
    "costs": "No fills, so no slippage or commission.",
    "rejections": "No order was rejected.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFiles:
    """Paths written by :func:`write_report`: the HTML file and one PNG per drawn figure."""

    directory: Path
    html: Path
    figures: Mapping[str, Path]


def _figure_builders(data: ReportData) -> dict[str, Callable[[], Figure] | None]:
    axis = figures.BarAxis(data.equity.index) if not data.equity.empty else None
    bench_label, bench = data.benchmark()
    monthly = [(label, performance(frame["value"]).monthly_returns)
               for label, frame in ((data.label, data.equity), *data.compare) if not frame.empty]
    if not bench.empty:
        monthly.append((bench_label, performance(bench).monthly_returns))
    has_prices = bool(data.prices) or not data.fills.empty
    return {
        "equity": None if data.equity.empty else lambda: figures.equity_figure(
            data.equity, label=data.label, others=data.compare, benchmark=bench, benchmark_label=bench_label,
            axis=axis),
        "monthly": None if not any(months for _, months in monthly) else lambda: figures.monthly_figure(monthly),
        "price": None if not has_prices else lambda: figures.price_figure(
            data.prices, data.fills, data.rejections, axis=axis),
        "latency": None if data.fills.empty else lambda: figures.latency_figure(data.fills),
        "costs": None if data.fills.empty else lambda: figures.costs_figure(data.fills, axis=axis),
        "rejections": None if data.rejections.empty else lambda: figures.rejections_figure(data.rejections),
    }


def write_report(
    source: ReportData | Any,
    out_dir: str | Path,
    *,
    title: str = "finbot_bt backtest report",
    prices: Mapping[str, pd.DataFrame] | None = None,
    datas: Iterable[Any] | None = None,
    summary: pd.DataFrame | None = None,
    label: str | None = None,
    compare: Mapping[str, Any] | None = None,
) -> ReportFiles:
    """Write the PNG figures and ``report.html`` for a finished run into ``out_dir``.

    Parameters
    ----------
    source : ReportData or FinbotBroker
        The run's frames, or the broker to take them from.
    out_dir : str or Path
        Directory to write to (created if missing; existing files are replaced,
        and the PNG of a figure left out this time is removed).
    title : str
        Heading of the HTML page.
    prices, datas
        Price series for the price figure and the buy-and-hold benchmark (when
        ``source`` is a broker): a mapping of symbol to a frame with ``close``,
        or the Backtrader feeds. The first symbol is the benchmark.
    summary : DataFrame or None
        Headline table (metrics as index, one column per run); overrides the one in ``source``.
    label : str or None
        Name of the run in figure legends; overrides the one in ``source``.
    compare : mapping of label to FinbotBroker or equity DataFrame, or None
        Other runs to draw beside this one in the equity figure.
    """
    data = source if isinstance(source, ReportData) else ReportData.from_broker(
        source, prices=prices, datas=datas, summary=summary)
    if summary is not None:
        data = replace(data, summary=summary)
    if label is not None:
        data = replace(data, label=label)
    if compare is not None:
        data = replace(data, compare=equity_frames(compare))
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    pngs: dict[str, bytes] = {}
    for name, build in _figure_builders(data).items():
        target = directory / f"{name}.png"
        if build is None:
            target.unlink(missing_ok=True)
        else:
            pngs[name] = figures.png_bytes(build())
            target.write_bytes(pngs[name])
    page = directory / "report.html"
    page.write_text(render_html(data, pngs, title=title), encoding="utf-8")
    return ReportFiles(directory=directory, html=page, figures={name: directory / f"{name}.png" for name in pngs})


def _decimals(values: pd.Series, low: int = 2, high: int = 4) -> int:
    for places in range(low, high + 1):
        if ((values.round(places) - values).abs() < 10.0 ** -(high + 2)).all():
            return places
    return high


def _column_formatter(name: str, column: pd.Series) -> Callable[[Any], str]:
    present = column.dropna()
    if pd.api.types.is_bool_dtype(column):
        return lambda v: MISSING if _missing(v) else ("yes" if v else "no")
    if pd.api.types.is_datetime64_any_dtype(column):
        return lambda v: MISSING if _missing(v) else str(v)
    if pd.api.types.is_numeric_dtype(column):
        numbers = present.astype(float)
        if name in MONEY_COLUMNS:
            spec = ",.2f"
        elif name == "latency_seconds":
            spec = ".3f"
        elif len(numbers) and bool((numbers == numbers.round()).all()):
            spec = ",.0f"
        else:
            spec = f",.{_decimals(numbers)}f"
        return lambda v: MISSING if _missing(v) else f"{float(v):{spec}}"
    return lambda v: MISSING if _missing(v) else str(v)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as text, column by column: whole numbers without decimals, money to cents, ``-`` if missing."""
    return pd.DataFrame({name: frame[name].map(_column_formatter(str(name), frame[name])) for name in frame.columns},
                        index=frame.index, columns=frame.columns)


def _table(frame: pd.DataFrame, table_id: str, *, index: bool = False) -> str:
    if frame.empty:
        return f'<p class="note" id="{table_id}">none</p>'
    shown = display_frame(frame.head(TABLE_ROWS))
    note = ""
    if len(frame) > TABLE_ROWS:
        note = f'<p class="note">first {TABLE_ROWS} of {len(frame)} rows</p>'
    table: str = shown.to_html(index=index, table_id=table_id, border=0, na_rep=MISSING)
    return f'<div class="table-wrap">{table}</div>{note}'


def render_html(data: ReportData, pngs: Mapping[str, bytes], *, title: str) -> str:
    """The HTML page as a string (figures as base64 PNGs, a note for each figure left out, tables)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if data.summary is not None:
        parts += ["<h2>Summary</h2>", _table(data.summary, "summary", index=True)]
    for name in FIGURE_NAMES:
        parts.append(f'<h2 id="figure-{name}">{_TITLES[name]}</h2>')
        if name in pngs:
            encoded = base64.b64encode(pngs[name]).decode("ascii")
            parts.append(f'<img alt="{name}" src="data:image/png;base64,{encoded}">')
        else:
            parts.append(f'<p class="note" id="no-{name}">{_EMPTY_NOTES[name]}</p>')
    parts += [
        f"<h2>Orders ({len(data.orders)})</h2>", _table(data.orders, "orders"),
        f"<h2>Fills ({len(data.fills)})</h2>", _table(data.fills, "fills"),
        f"<h2>Rejections ({len(data.rejections)})</h2>", _table(data.rejections, "rejections"),
        '<p class="note">Generated by finbot_bt.</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


__all__ = ["FIGURE_NAMES", "MISSING", "ReportFiles", "display_frame", "render_html", "write_report"]
