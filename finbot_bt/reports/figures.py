"""The report's figures, each a function from frames to a :class:`~matplotlib.figure.Figure`.

Figures are built without ``pyplot`` (no global state, no GUI backend) and
rendered with the Agg canvas by :func:`png_bytes`.

Time runs along a shared :class:`BarAxis`: x is the bar number of the run and
the tick labels are the bars' dates, as Backtrader's own plots do. Nights,
weekends and holidays therefore take no room (no long straight lines across
them), and every time-based figure of a report spans the same x-range. When a
symbol has more than :data:`MAX_MARKERS` fills of one side (or rejections),
they are grouped into :data:`MARKER_BUCKETS` buckets along the axis, one
marker per bucket sized by its count, instead of a wall of markers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

BUY_COLOUR = "#1a9850"
SELL_COLOUR = "#d73027"
REJECT_COLOUR = "#000000"
LINE_COLOUR = "#4575b4"
BENCHMARK_COLOUR = "#888888"
COMPARE_COLOURS = ("#f46d43", "#74add1", "#fdae61", "#abd9e9")
SIZE = (9.0, 4.0)
MAX_MARKERS = 150
"""Above this many markers of one kind per symbol, markers are grouped into buckets."""
MARKER_BUCKETS = 100
"""Number of buckets along the bar axis that grouped markers fall into."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""Month names of the heatmap's columns (and of the terminal's monthly table)."""

MonthlyReturns = Sequence[tuple[tuple[int, int], float]]


class BarAxis:
    """Maps times to bar numbers of one run and labels ticks with the bars' dates.

    Parameters
    ----------
    times : DatetimeIndex-like
        The run's bar times (sorted; duplicates are dropped).
    """

    def __init__(self, times: pd.Index) -> None:
        self.times = pd.DatetimeIndex(times).unique().sort_values()
        normalized = self.times.normalize()
        self.intraday = bool(len(normalized) and normalized.has_duplicates)

    def __len__(self) -> int:
        return len(self.times)

    def positions(self, times: pd.Index | pd.Series) -> np.ndarray:
        """Bar number of each time: the last bar at or before it (the first bar for earlier times)."""
        index = np.asarray(self.times.searchsorted(pd.DatetimeIndex(times), side="right")) - 1
        positions: np.ndarray = np.clip(index, 0, max(len(self.times) - 1, 0)).astype(float)
        return positions

    def label(self, position: float) -> str:
        """The date (and time, for intraday bars) of the bar nearest ``position``; blank off the axis."""
        at = round(position)
        if not 0 <= at < len(self.times):
            return ""
        return str(self.times[at].strftime("%Y-%m-%d\n%H:%M" if self.intraday else "%Y-%m-%d"))

    def apply(self, ax: Axes) -> None:
        """Set the shared x-range and the date tick labels on ``ax``."""
        ax.set_xlim(-0.5, max(len(self.times) - 0.5, 0.5))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=7, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: self.label(x)))


def _note_figure(text: str) -> Figure:
    fig = Figure(figsize=(9.0, 0.6))
    fig.text(0.5, 0.5, text, ha="center", va="center", color="#666666")
    return fig


def _axis_for(axis: BarAxis | None, *indexes: pd.Index) -> BarAxis:
    if axis is not None:
        return axis
    union = pd.DatetimeIndex([])
    for index in indexes:
        union = union.union(pd.DatetimeIndex(index))
    return BarAxis(union)


def equity_figure(equity: pd.DataFrame, *, label: str = "value",
                  others: Sequence[tuple[str, pd.DataFrame]] = (), benchmark: pd.Series | None = None,
                  benchmark_label: str = "buy & hold", axis: BarAxis | None = None) -> Figure:
    """Portfolio value of the run (and of ``others``, and the ``benchmark`` values), drawdown % below."""
    if equity.empty:
        return _note_figure("no equity recorded")
    axis = _axis_for(axis, equity.index)
    fig = Figure(figsize=(9.0, 5.0))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    curves = [(label, equity["value"], LINE_COLOUR, 1.4)]
    curves += [(name, frame["value"], COMPARE_COLOURS[n % len(COMPARE_COLOURS)], 1.0)
               for n, (name, frame) in enumerate(others) if not frame.empty]
    for n, (name, value, colour, width) in enumerate(curves):
        x = axis.positions(value.index)
        top.plot(x, value.to_numpy(), color=colour, linewidth=width, label=name, zorder=3 if n == 0 else 2)
        peak = value.cummax()
        drawdown = (-(peak - value) / peak * 100).to_numpy()
        if n == 0:
            bottom.fill_between(x, drawdown, 0, color=SELL_COLOUR, alpha=0.35, linewidth=0)
        else:
            bottom.plot(x, drawdown, color=colour, linewidth=0.8)
    if benchmark is not None and not benchmark.empty:
        top.plot(axis.positions(benchmark.index), benchmark.to_numpy(), color=BENCHMARK_COLOUR, linewidth=1.0,
                 linestyle="--", label=benchmark_label, zorder=1)
    top.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:,.0f}"))
    top.set_ylabel("quote currency")
    top.set_title("Equity")
    top.legend(loc="upper left", fontsize="small")
    bottom.set_ylabel("drawdown %")
    axis.apply(bottom)
    fig.tight_layout()
    return fig


def _markers(x: np.ndarray, y: np.ndarray, weight: np.ndarray, n_bars: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Weighted mean position and price per bucket; sizes grow with the count in the bucket.
    bucket = np.minimum((x / max(n_bars, 1) * MARKER_BUCKETS).astype(int), MARKER_BUCKETS - 1)
    frame = pd.DataFrame({"bucket": bucket, "x": x, "wy": y * weight, "w": weight, "n": 1})
    grouped = frame.groupby("bucket", sort=True).agg(x=("x", "mean"), wy=("wy", "sum"), w=("w", "sum"),
                                                     n=("n", "sum"))
    counts = grouped["n"].to_numpy(dtype=float)
    sizes = 15 + 85 * counts / counts.max()
    return grouped["x"].to_numpy(), (grouped["wy"] / grouped["w"]).to_numpy(), sizes


def _scatter(ax: Axes, axis: BarAxis, times: pd.Series, prices: np.ndarray, weights: np.ndarray,
             *, marker: str, colour: str, label: str, size: float) -> None:
    x = axis.positions(times)
    if len(x) > MAX_MARKERS:
        x, prices, sizes = _markers(x, prices, weights, len(axis))
        ax.scatter(x, prices, marker=marker, color=colour, s=sizes, alpha=0.8, zorder=3,
                   label=f"{label} ({len(times)}, grouped)")
    else:
        ax.scatter(x, prices, marker=marker, color=colour, s=size, zorder=3, label=label)


def price_figure(prices: Mapping[str, pd.DataFrame], fills: pd.DataFrame, rejections: pd.DataFrame, *,
                 axis: BarAxis | None = None) -> Figure:
    """Close price per symbol with buy fills (^), sell fills (v) and rejected orders (x)."""
    symbols = list(prices) or sorted(set(fills.get("symbol", pd.Series(dtype=str))))
    if not symbols:
        return _note_figure("no prices")
    axis = _axis_for(axis, *(frame.index for frame in prices.values()),
                     pd.DatetimeIndex(fills["timestamp"]) if not fills.empty else pd.DatetimeIndex([]))
    fig = Figure(figsize=(9.0, 3.5 * len(symbols)))
    axes = fig.subplots(len(symbols), 1, squeeze=False, sharex=True)[:, 0]
    for ax, symbol in zip(axes, symbols, strict=True):
        close = prices[symbol]["close"] if symbol in prices else pd.Series(dtype=float)
        if not close.empty:
            ax.plot(axis.positions(close.index), close.to_numpy(), color=LINE_COLOUR, linewidth=1.0, label="close")
        own = fills[fills["symbol"] == symbol] if not fills.empty else fills
        for side, marker, colour in (("buy", "^", BUY_COLOUR), ("sell", "v", SELL_COLOUR)):
            part = own[own["side"] == side] if not own.empty else own
            if not part.empty:
                _scatter(ax, axis, part["timestamp"], part["price"].to_numpy(dtype=float),
                         part["quantity"].to_numpy(dtype=float), marker=marker, colour=colour,
                         label=f"{side} fill", size=40)
        refused = rejections[rejections["symbol"] == symbol] if not rejections.empty else rejections
        if not refused.empty and not close.empty:
            at = close.to_numpy(dtype=float)[
                np.clip(close.index.searchsorted(pd.DatetimeIndex(refused["timestamp"]), side="right") - 1,
                        0, len(close) - 1)]
            _scatter(ax, axis, refused["timestamp"], at, np.ones(len(at)), marker="x", colour=REJECT_COLOUR,
                     label="rejected", size=60)
        ax.set_title(f"{symbol}: fills and rejected orders")
        ax.legend(loc="upper left", fontsize="small")
    axis.apply(axes[-1])
    fig.tight_layout()
    return fig


def latency_figure(fills: pd.DataFrame) -> Figure:
    """Histogram of fill latency (submission plus fill report), milliseconds."""
    if fills.empty:
        return _note_figure("no fills")
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    latency_ms = fills["latency_seconds"].to_numpy(dtype=float) * 1000
    ax.hist(latency_ms, bins=min(30, max(5, len(latency_ms) // 2)), color=LINE_COLOUR, edgecolor="white")
    ax.axvline(float(pd.Series(latency_ms).median()), color=SELL_COLOUR, linestyle="--", label="median")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("latency, ms")
    ax.set_ylabel("fills")
    ax.set_title("Fill latency")
    ax.legend()
    fig.tight_layout()
    return fig


def costs_figure(fills: pd.DataFrame, *, axis: BarAxis | None = None) -> Figure:
    """Cumulative slippage cost and commission over the run's bars, quote currency."""
    if fills.empty:
        return _note_figure("no fills")
    axis = _axis_for(axis, pd.DatetimeIndex(fills["timestamp"]))
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    ordered = fills.sort_values("timestamp", kind="stable")
    x = np.concatenate([[0.0], axis.positions(ordered["timestamp"]), [float(len(axis) - 1)]])
    for column, colour, name in (("slippage_cost", SELL_COLOUR, "slippage"), ("commission", LINE_COLOUR,
                                                                             "commission")):
        total = ordered[column].astype(float).cumsum().to_numpy()
        ax.step(x, np.concatenate([[0.0], total, total[-1:]]), where="post", color=colour, label=name)
    ax.set_ylabel("cumulative, quote currency")
    ax.set_title("Slippage and commission")
    ax.legend(loc="upper left")
    axis.apply(ax)
    fig.tight_layout()
    return fig


def rejections_figure(rejections: pd.DataFrame) -> Figure:
    """Rejected orders per reason code (whole-number ticks)."""
    if rejections.empty:
        return _note_figure("no rejections")
    counts = rejections["reason"].value_counts().sort_index()
    fig = Figure(figsize=(9.0, 1.2 + 0.4 * len(counts)))
    ax = fig.subplots()
    ax.barh([str(r) for r in counts.index], counts.to_numpy(), color=SELL_COLOUR)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("orders")
    ax.set_title("Rejections by reason")
    fig.tight_layout()
    return fig


def monthly_figure(series: Sequence[tuple[str, MonthlyReturns]]) -> Figure:
    """Heatmap of monthly returns (percent), one panel per ``(label, ((year, month), pct) ...)``.

    Green is a gain, red a loss, on one colour scale shared by all panels;
    months without data are left white.
    """
    shown = [(label, months) for label, months in series if months]
    if not shown:
        return _note_figure("no monthly returns")
    years = [sorted({year for (year, _), _ in months}) for _, months in shown]
    extreme = max(abs(pct) for _, months in shown for _, pct in months) or 1.0
    norm = TwoSlopeNorm(vmin=-extreme, vcenter=0.0, vmax=extreme)
    heights = [0.45 * len(y) + 0.7 for y in years]
    fig = Figure(figsize=(9.0, sum(heights)))
    axes = fig.subplots(len(shown), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, (label, months), own_years in zip(axes, shown, years, strict=True):
        grid = np.full((len(own_years), 12), math.nan)
        for (year, month), pct in months:
            grid[own_years.index(year), month - 1] = pct
        ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", norm=norm, aspect="auto")
        for (row, col), pct in np.ndenumerate(grid):
            if not math.isnan(pct):
                ax.text(col, row, f"{pct:+.1f}", ha="center", va="center", fontsize="small")
        ax.set_xticks(range(12), MONTHS)
        ax.set_yticks(range(len(own_years)), [str(y) for y in own_years])
        ax.set_title(f"{label}: monthly returns, %", fontsize="medium")
    fig.tight_layout()
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG with the Agg canvas (no metadata, so output is reproducible)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


__all__ = ["MARKER_BUCKETS", "MAX_MARKERS", "MONTHS", "BarAxis", "costs_figure", "equity_figure", "latency_figure",
           "monthly_figure", "png_bytes", "price_figure", "rejections_figure"]
