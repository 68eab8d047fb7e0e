"""What a report is drawn from: the broker's frames plus the price series."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from finbot_bt.broker.engine import feed_closes


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
    """

    orders: pd.DataFrame
    fills: pd.DataFrame
    rejections: pd.DataFrame
    equity: pd.DataFrame
    prices: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    summary: pd.DataFrame | None = None

    @classmethod
    def from_broker(cls, broker: Any, *, prices: Mapping[str, pd.DataFrame] | None = None,
                    datas: Iterable[Any] | None = None, summary: pd.DataFrame | None = None) -> ReportData:
        """Collect the frames of a finished FinbotBroker run; prices from ``prices`` or ``datas``."""
        if prices is None:
            prices = prices_from_datas(datas) if datas is not None else {}
        return cls(orders=broker.orders_frame(), fills=broker.fills_frame(),
                   rejections=broker.rejections_frame(), equity=broker.equity_frame(),
                   prices=dict(prices), summary=summary)


def prices_from_datas(datas: Iterable[Any]) -> dict[str, pd.DataFrame]:
    """Close prices of finished Backtrader feeds, keyed by feed name (as the broker names them)."""
    out: dict[str, pd.DataFrame] = {}
    for n, data in enumerate(datas):
        name = getattr(data, "_name", "") or f"data{n}"
        out[name] = feed_closes(data)
    return out


__all__ = ["ReportData", "prices_from_datas"]
