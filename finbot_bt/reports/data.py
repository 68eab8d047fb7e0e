"""What a report is drawn from: the broker's frames plus the price series."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from finbot_bt.broker.engine import feed_closes
from finbot_bt.reports.performance import buy_and_hold


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportData:
    """The frames of one run (see :mod:`finbot_bt.broker.frames` for their columns).

    Attributes
    ----------
    orders, fills, rejections : DataFrame
        ``broker.orders_frame()``, ``fills_frame()``, ``rejections_frame()``.
    equity : DataFrame
        ``broker.equity_frame()``: ``cash`` and ``value`` per bar, indexed by time.
    prices : mapping of symbol to DataFrame
        OHLCV per symbol with a ``close`` column, indexed by time (may be empty).
    summary : DataFrame or None
        Headline figures, metrics as index and one column per run.
    label : str
        Name of this run in figure legends.
    compare : tuple of (label, equity DataFrame)
        Other runs drawn beside this one in the equity figure (e.g. the demo's default broker).
    """

    orders: pd.DataFrame
    fills: pd.DataFrame
    rejections: pd.DataFrame
    equity: pd.DataFrame
    prices: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    summary: pd.DataFrame | None = None
    label: str = "strategy"
    compare: tuple[tuple[str, pd.DataFrame], ...] = ()

    @classmethod
    def from_broker(cls, broker: Any, *, prices: Mapping[str, pd.DataFrame] | None = None,
                    datas: Iterable[Any] | None = None, summary: pd.DataFrame | None = None,
                    label: str = "strategy", compare: Mapping[str, Any] | None = None) -> ReportData:
        """Collect the frames of a finished FinbotBroker run; prices from ``prices`` or ``datas``.

        ``compare`` maps a label to another finished run to draw beside this
        one: its FinbotBroker, or its ``equity_frame()``.
        """
        if prices is None:
            prices = prices_from_datas(datas) if datas is not None else {}
        return cls(orders=broker.orders_frame(), fills=broker.fills_frame(),
                   rejections=broker.rejections_frame(), equity=broker.equity_frame(),
                   prices=dict(prices), summary=summary, label=label, compare=equity_frames(compare or {}))

    def benchmark(self) -> tuple[str, pd.Series]:
        """Buy-and-hold of the first symbol with the run's starting value: ``(label, values)``.

        Empty values when there are no prices or no equity.
        """
        if not self.prices or self.equity.empty:
            return "", pd.Series(dtype=float)
        symbol, frame = next(iter(self.prices.items()))
        return f"buy & hold {symbol}", buy_and_hold(frame["close"], float(self.equity["value"].iloc[0]))


def equity_frames(runs: Mapping[str, Any]) -> tuple[tuple[str, pd.DataFrame], ...]:
    """``(label, equity frame)`` for each run, given as a FinbotBroker or as its ``equity_frame()``."""
    out: list[tuple[str, pd.DataFrame]] = []
    for label, run in runs.items():
        frame = run if isinstance(run, pd.DataFrame) else getattr(run, "equity_frame", None)
        if frame is None:
            raise TypeError(f"compare[{label!r}] is {type(run).__name__}; expected a FinbotBroker or an "
                            "equity DataFrame with a 'value' column")
        frame = frame if isinstance(frame, pd.DataFrame) else frame()
        if "value" not in frame.columns:
            raise ValueError(f"compare[{label!r}] has no 'value' column (columns: {list(frame.columns)})")
        out.append((str(label), frame))
    return tuple(out)


def prices_from_datas(datas: Iterable[Any]) -> dict[str, pd.DataFrame]:
    """Close prices of finished Backtrader feeds, keyed by feed name (as the broker names them)."""
    out: dict[str, pd.DataFrame] = {}
    for n, data in enumerate(datas):
        name = getattr(data, "_name", "") or f"data{n}"
        out[name] = feed_closes(data)
    return out


__all__ = ["ReportData", "equity_frames", "prices_from_datas"]
