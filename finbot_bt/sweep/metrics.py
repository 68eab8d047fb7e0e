"""Summary metrics of one backtest, from the broker's event log and equity curve.

Pure functions over core events and pandas frames; no backtrader here.

* ``max_drawdown_pct``: ``max_t (peak_t - value_t) / peak_t * 100`` over the
  per-bar value curve, ``peak_t`` the running maximum (percent, >= 0).
* ``sharpe``: ``mean(r) / std(r) * sqrt(periods_per_year)`` of per-bar simple
  returns ``r`` (risk-free rate 0, sample std); NaN with fewer than two
  returns or zero variance.
* ``median_latency_seconds``: median over fills of submission plus report
  latency (simulated seconds); NaN without fills.
* ``slippage_cost``: sum of ``slippage * quantity`` (quote currency; positive = paid).
* ``commission``: sum of commissions charged (quote currency).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from finbot_bt.broker.engine import TradeRecord  # one closed trade, recorded by the broker's TradeLog
from finbot_bt.contracts.enums import RejectionReason
from finbot_bt.contracts.events import ExecutionEvent, OrderFilled, OrderRejected
from finbot_bt.reports import performance

PERIODS_PER_YEAR = 252
REJECTION_COLUMNS = tuple(f"rejected_{reason.value}" for reason in RejectionReason)

FillRecord = tuple[str, str, str, str, str, str, str]
"""``(timestamp, order_id, symbol, side, quantity, price, commission)``, exact decimal strings."""



def max_drawdown_pct(values: Sequence[float]) -> float:
    """Largest peak-to-trough fall of ``values``, percent of the peak."""
    worst, peak = 0.0, -math.inf
    for value in values:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, (peak - value) / peak * 100.0)
    return worst


def sharpe_ratio(values: Sequence[float], periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised Sharpe ratio of per-period simple returns of ``values`` (risk-free 0)."""
    returns = pd.Series(list(values), dtype=float).pct_change().dropna()
    return performance.sharpe_ratio(returns, periods_per_year)


def fill_records(events: Iterable[ExecutionEvent]) -> list[FillRecord]:
    """Every fill as exact strings, in booking order."""
    out: list[FillRecord] = []
    for event in events:
        if isinstance(event, OrderFilled):
            ex, order = event.execution, event.order
            out.append((ex.timestamp.isoformat(), order.order_id, order.symbol, order.side.value,
                        str(ex.quantity), str(ex.price), str(ex.commission)))
    return out


def digest(records: Iterable[Sequence[Any]]) -> str:
    """SHA-256 (first 16 hex digits) of the records' canonical JSON."""
    text = json.dumps([list(r) for r in records], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rejection_counts(events: Iterable[ExecutionEvent]) -> dict[str, int]:
    """Rejected orders per reason, one column per :class:`RejectionReason` (zeros included)."""
    counts = dict.fromkeys(REJECTION_COLUMNS, 0)
    for event in events:
        if isinstance(event, OrderRejected):
            counts[f"rejected_{event.reason.value}"] += 1
    return counts


def fill_costs(fills: pd.DataFrame) -> dict[str, float]:
    """Fill count, median latency, slippage cost and commission from ``fills_frame``."""
    if fills.empty:
        return {"fills": 0, "median_latency_seconds": math.nan, "slippage_cost": 0.0, "commission": 0.0}
    return {
        "fills": len(fills),
        "median_latency_seconds": float(fills["latency_seconds"].median()),
        "slippage_cost": float(fills["slippage_cost"].sum()),
        "commission": float(fills["commission"].sum()),
    }



LABEL_COLUMNS = ("cell", "cell_key", "strategy", "data", "latency", "risk", "commission_model",
                 "slippage_model", "seed")
"""The parameter columns every results row starts with (strategy parameters follow as ``param_*``)."""

METRIC_COLUMNS = ("final_value", "final_cash", "return_pct", "max_drawdown_pct", "sharpe", "trades",
                  "orders", "fills", "median_latency_seconds", "slippage_cost", "commission", "rejections",
                  *REJECTION_COLUMNS, "fills_digest", "trades_digest")
"""The metric columns, in table order."""


def results_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Rows as the canonical results table: fixed column order, sorted by cell index."""
    frame = pd.DataFrame(list(rows))
    params = sorted(c for c in frame.columns if str(c).startswith("param_"))
    columns = [*LABEL_COLUMNS, *params, "status", "error", *METRIC_COLUMNS]
    frame = frame.reindex(columns=columns)
    if frame.empty:
        return frame
    return frame.sort_values("cell", kind="stable").reset_index(drop=True)


__all__ = [
    "FillRecord", "LABEL_COLUMNS", "METRIC_COLUMNS", "PERIODS_PER_YEAR", "REJECTION_COLUMNS", "TradeRecord",
    "digest", "fill_costs", "fill_records", "max_drawdown_pct", "rejection_counts", "results_frame",
    "sharpe_ratio",
]
