"""The report's figures, each a function from frames to a :class:`~matplotlib.figure.Figure`.

Figures are built without ``pyplot`` (no global state, no GUI backend) and
rendered with the Agg canvas by :func:`png_bytes`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

BUY_COLOUR = "#1a9850"
SELL_COLOUR = "#d73027"
REJECT_COLOUR = "#000000"
LINE_COLOUR = "#4575b4"
SIZE = (9.0, 4.0)


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def equity_figure(equity: pd.DataFrame) -> Figure:
    """Portfolio value over time, and the drawdown from its running peak (percent) below it."""
    fig = Figure(figsize=(9.0, 5.0))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    if equity.empty:
        _empty(top, "no equity recorded")
        return fig
    value = equity["value"]
    top.plot(value.index, value.to_numpy(), color=LINE_COLOUR, linewidth=1.2, label="value")
    top.set_ylabel("quote currency")
    top.set_title("Equity")
    top.legend(loc="upper left")
    peak = value.cummax()
    drawdown = -(peak - value) / peak * 100
    bottom.fill_between(drawdown.index, drawdown.to_numpy(), 0, color=SELL_COLOUR, alpha=0.4)
    bottom.set_ylabel("drawdown %")
    fig.autofmt_xdate()
    return fig


def price_figure(prices: Mapping[str, pd.DataFrame], fills: pd.DataFrame, rejections: pd.DataFrame) -> Figure:
    """Close price per symbol with buy fills (^), sell fills (v) and rejected orders (x)."""
    symbols = list(prices) or sorted(set(fills.get("symbol", pd.Series(dtype=str))))
    fig = Figure(figsize=(9.0, 3.5 * max(1, len(symbols))))
    if not symbols:
        _empty(fig.subplots(), "no prices")
        return fig
    axes = fig.subplots(len(symbols), 1, squeeze=False)[:, 0]
    for ax, symbol in zip(axes, symbols, strict=True):
        close = prices[symbol]["close"] if symbol in prices else pd.Series(dtype=float)
        if not close.empty:
            ax.plot(close.index, close.to_numpy(), color=LINE_COLOUR, linewidth=1.0, label="close")
        own = fills[fills["symbol"] == symbol] if not fills.empty else fills
        for side, marker, colour in (("buy", "^", BUY_COLOUR), ("sell", "v", SELL_COLOUR)):
            part = own[own["side"] == side] if not own.empty else own
            if not part.empty:
                ax.scatter(part["timestamp"], part["price"], marker=marker, color=colour, s=40,
                           zorder=3, label=f"{side} fill")
        refused = rejections[rejections["symbol"] == symbol] if not rejections.empty else rejections
        if not refused.empty and not close.empty:
            at = close.reindex(close.index.union(pd.DatetimeIndex(refused["timestamp"]))).ffill().bfill()
            ax.scatter(refused["timestamp"], at.loc[pd.DatetimeIndex(refused["timestamp"])].to_numpy(),
                       marker="x", color=REJECT_COLOUR, s=60, zorder=4, label="rejected")
        ax.set_title(f"{symbol}: fills and rejected orders")
        ax.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    return fig


def latency_figure(fills: pd.DataFrame) -> Figure:
    """Histogram of fill latency (submission plus fill report), milliseconds."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    if fills.empty:
        _empty(ax, "no fills")
        return fig
    latency_ms = fills["latency_seconds"].to_numpy() * 1000
    ax.hist(latency_ms, bins=min(30, max(5, len(latency_ms) // 2)), color=LINE_COLOUR, edgecolor="white")
    ax.axvline(float(pd.Series(latency_ms).median()), color=SELL_COLOUR, linestyle="--", label="median")
    ax.set_xlabel("latency, ms")
    ax.set_ylabel("fills")
    ax.set_title("Fill latency")
    ax.legend()
    return fig


def costs_figure(fills: pd.DataFrame) -> Figure:
    """Cumulative slippage cost and commission over time, quote currency."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    if fills.empty:
        _empty(ax, "no fills")
        return fig
    ordered = fills.sort_values("timestamp")
    ax.step(ordered["timestamp"], ordered["slippage_cost"].cumsum().to_numpy(), where="post",
            color=SELL_COLOUR, label="slippage")
    ax.step(ordered["timestamp"], ordered["commission"].cumsum().to_numpy(), where="post",
            color=LINE_COLOUR, label="commission")
    ax.set_ylabel("cumulative, quote currency")
    ax.set_title("Slippage and commission")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    return fig


def rejections_figure(rejections: pd.DataFrame) -> Figure:
    """Rejected orders per reason code."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    if rejections.empty:
        _empty(ax, "no rejections")
        return fig
    counts = rejections["reason"].value_counts().sort_index()
    ax.barh([str(r) for r in counts.index], counts.to_numpy(), color=SELL_COLOUR)
    ax.set_xlabel("orders")
    ax.set_title("Rejections by reason")
    fig.tight_layout()
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG with the Agg canvas (no metadata, so output is reproducible)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


__all__ = ["costs_figure", "equity_figure", "latency_figure", "png_bytes", "price_figure", "rejections_figure"]
