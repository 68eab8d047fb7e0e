"""Write a report directory: one PNG per figure and ``report.html`` with everything inlined.

``report.html`` embeds the PNGs as base64 ``data:`` URIs and its CSS inline,
so it can be mailed or attached to a CI run on its own. Output is
deterministic: no timestamps, no random ids.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from finbot_bt.reports import figures
from finbot_bt.reports.data import ReportData

FIGURE_NAMES: tuple[str, ...] = ("equity", "price", "latency", "costs", "rejections")
"""Figure names, in report order; each is written as ``<name>.png``."""

TABLE_ROWS = 200
CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } img { max-width: 100%; } .note { color: #666; font-size: 0.85em; }
"""
_TITLES = {
    "equity": "Equity and drawdown",
    "price": "Price with fills and rejected orders",
    "latency": "Latency distribution",
    "costs": "Slippage and commission over time",
    "rejections": "Rejections by reason",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFiles:
    """Paths written by :func:`write_report`: the HTML file and one PNG per figure name."""

    directory: Path
    html: Path
    figures: Mapping[str, Path]


def _figure_builders(data: ReportData) -> dict[str, Callable[[], Figure]]:
    return {
        "equity": lambda: figures.equity_figure(data.equity),
        "price": lambda: figures.price_figure(data.prices, data.fills, data.rejections),
        "latency": lambda: figures.latency_figure(data.fills),
        "costs": lambda: figures.costs_figure(data.fills),
        "rejections": lambda: figures.rejections_figure(data.rejections),
    }


def write_report(
    source: ReportData | Any,
    out_dir: str | Path,
    *,
    title: str = "finbot_bt backtest report",
    prices: Mapping[str, pd.DataFrame] | None = None,
    datas: Iterable[Any] | None = None,
    summary: pd.DataFrame | None = None,
) -> ReportFiles:
    """Write the PNG figures and ``report.html`` for a finished run into ``out_dir``.

    Parameters
    ----------
    source : ReportData or FinbotBroker
        The run's frames, or the broker to take them from.
    out_dir : str or Path
        Directory to write to (created if missing; existing files are replaced).
    title : str
        Heading of the HTML page.
    prices, datas
        Price series for the price figure (when ``source`` is a broker): a
        mapping of symbol to a frame with ``close``, or the Backtrader feeds.
    summary : DataFrame or None
        Headline table (metrics as index, one column per run); overrides the one in ``source``.
    """
    data = source if isinstance(source, ReportData) else ReportData.from_broker(
        source, prices=prices, datas=datas, summary=summary)
    if summary is not None:
        data = ReportData(orders=data.orders, fills=data.fills, rejections=data.rejections,
                          equity=data.equity, prices=data.prices, summary=summary)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    pngs: dict[str, bytes] = {name: figures.png_bytes(build()) for name, build in _figure_builders(data).items()}
    paths: dict[str, Path] = {}
    for name, content in pngs.items():
        paths[name] = directory / f"{name}.png"
        paths[name].write_bytes(content)
    page = directory / "report.html"
    page.write_text(render_html(data, pngs, title=title), encoding="utf-8")
    return ReportFiles(directory=directory, html=page, figures=paths)


def _table(frame: pd.DataFrame, table_id: str, *, index: bool = False) -> str:
    if frame.empty:
        return f'<p class="note" id="{table_id}">none</p>'
    shown = frame.head(TABLE_ROWS)
    note = ""
    if len(frame) > TABLE_ROWS:
        note = f'<p class="note">first {TABLE_ROWS} of {len(frame)} rows</p>'
    table: str = shown.to_html(index=index, table_id=table_id, border=0, na_rep="", float_format="{:,.4f}".format)
    return table + note


def render_html(data: ReportData, pngs: Mapping[str, bytes], *, title: str) -> str:
    """The HTML page as a string (figures as base64 PNGs, tables from the frames)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if data.summary is not None:
        parts += ["<h2>Summary</h2>", _table(data.summary, "summary", index=True)]
    for name in FIGURE_NAMES:
        if name in pngs:
            encoded = base64.b64encode(pngs[name]).decode("ascii")
            parts += [f'<h2 id="figure-{name}">{_TITLES[name]}</h2>',
                      f'<img alt="{name}" src="data:image/png;base64,{encoded}">']
    parts += [
        f"<h2>Orders ({len(data.orders)})</h2>", _table(data.orders, "orders"),
        f"<h2>Fills ({len(data.fills)})</h2>", _table(data.fills, "fills"),
        f"<h2>Rejections ({len(data.rejections)})</h2>", _table(data.rejections, "rejections"),
        '<p class="note">Generated by finbot_bt.</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


__all__ = ["FIGURE_NAMES", "ReportFiles", "render_html", "write_report"]
