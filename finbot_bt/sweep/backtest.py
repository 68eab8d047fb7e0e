"""Run one cell through :func:`finbot_bt.runner.backtest.run_backtest`, summarised as metrics and digests.

This is the function a Dask worker executes. It never raises for a failing
backtest: :func:`run_cell` returns a row whose ``status`` is ``"error"`` and
whose ``error`` names the exception, so one bad cell cannot stop a sweep.
Sweeps, regressions and ``finbot-bt run`` share one run function
(:func:`~finbot_bt.runner.backtest.run_backtest`) and one strategy loader
(:func:`~finbot_bt.runner.loader.load_strategy`).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from finbot_bt.broker import FinbotBroker
from finbot_bt.broker.engine import TradeLog
from finbot_bt.contracts.events import OrderFilled, OrderRejected
from finbot_bt.runner.backtest import run_backtest
from finbot_bt.runner.loader import load_strategy
from finbot_bt.runner.loading import symbol_for
from finbot_bt.sweep import metrics
from finbot_bt.sweep.cell import CellSpec, build_commission, build_latency, build_risk, build_slippage
from finbot_bt.sweep.data import cached_ohlcv
from finbot_bt.sweep.metrics import FillRecord, TradeRecord

SIMULATOR_ID = "finbot"
"""One fixed simulator id, so order ids (and fill digests) do not depend on the cell or the machine."""


@dataclass(slots=True, kw_only=True)
class BacktestResult:
    """What one backtest produced.

    Attributes
    ----------
    metrics : dict
        Summary figures (see :mod:`finbot_bt.sweep.metrics`); money in quote currency.
    fills : list of FillRecord
        Every fill, exact decimal strings.
    trades : list of TradeRecord
        Every closed trade.
    """

    metrics: dict[str, Any] = field(default_factory=dict)
    fills: list[FillRecord] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)


def backtest_cell(cell: CellSpec) -> BacktestResult:
    """Run ``cell`` with a fresh Cerebro and FinbotBroker; exceptions propagate."""
    broker = FinbotBroker(
        cash=float(Decimal(cell.cash)), latency=build_latency(cell.latency), risk=build_risk(cell.risk),
        slippage=build_slippage(cell.slippage), commission=build_commission(cell.commission),
        seed=cell.seed, simulator_id=SIMULATOR_ID,
    )
    frames = [(symbol_for(path), cached_ohlcv(path)) for path in cell.data_paths]
    # Backtrader's order refs are a process-wide counter: restart it so every cell numbers alike.
    result = run_backtest(load_strategy(cell.strategy), frames, broker=broker, label=cell.strategy,
                          strategy_params=cell.strategy_params, stdstats=False, fresh_order_refs=True, progress=False,
                          analyzers=[(TradeLog, {"_name": "finbot_trades"})])
    trades = list(result.strategy.analyzers.finbot_trades.get_analysis())
    return BacktestResult(metrics=_summary(cell, broker, trades), fills=metrics.fill_records(broker.events.of_type(OrderFilled)),
                          trades=trades)


def _summary(cell: CellSpec, broker: Any, trades: list[TradeRecord]) -> dict[str, Any]:
    values = [float(v) for v in broker.equity_frame()["value"]]
    start = float(Decimal(cell.cash))
    final = float(broker.getvalue())
    fills = broker.fills_frame()
    fill_list = metrics.fill_records(broker.events.of_type(OrderFilled))
    out: dict[str, Any] = {
        "final_value": final,
        "final_cash": float(broker.getcash()),
        "return_pct": (final / start - 1.0) * 100.0 if start > 0 else float("nan"),
        "max_drawdown_pct": metrics.max_drawdown_pct(values),
        "sharpe": metrics.sharpe_ratio(values),
        "trades": len(trades),
        "orders": len(broker.orders_frame()),
        **metrics.fill_costs(fills),
    }
    rejections = metrics.rejection_counts(broker.events.of_type(OrderRejected))
    out["rejections"] = sum(rejections.values())
    out.update(rejections)
    out["fills_digest"] = metrics.digest(fill_list)
    out["trades_digest"] = metrics.digest(trades)
    return out


def run_cell(cell: CellSpec) -> dict[str, Any]:
    """One results row: the cell's labels, then its metrics or its error (never raises)."""
    row = cell.labels()
    try:
        result = backtest_cell(cell)
    except Exception as exc:  # a failing cell is a row, not a crash
        row.update(status="error", error=_describe(exc))
        return row
    row.update(status="ok", error=None)
    row.update(result.metrics)
    return row


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


__all__ = ["BacktestResult", "backtest_cell", "run_cell"]
