"""Run one strategy on OHLCV frames through a FinbotBroker, and collect what the reports need."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from finbot_bt.broker import FinbotBroker
from finbot_bt.broker.engine import TRADE_ANALYZER, TradeLog, run_cerebro
from finbot_bt.broker.progress import ProgressBar
from finbot_bt.data import SAMPLE_SYMBOL, sample_path
from finbot_bt.runner.loading import load_ohlcv, make_feed
from finbot_bt.runner.summary import TRADE_LOG_NAME, RunSummary, summarize


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """A finished run: the broker (event log and frames), the strategy, prices and the summary."""

    label: str
    broker: Any
    strategy: Any
    cerebro: Any
    prices: Mapping[str, pd.DataFrame]
    summary: RunSummary


def sample_frames() -> list[tuple[str, pd.DataFrame]]:
    """The bundled synthetic daily series as ``[(symbol, frame)]``."""
    return [(SAMPLE_SYMBOL, load_ohlcv(sample_path()))]


def run_backtest(
    strategy: type[Any],
    frames: Sequence[tuple[str, pd.DataFrame]],
    *,
    broker: Any = None,
    label: str = "FinbotBroker",
    strategy_params: Mapping[str, Any] | None = None,
    progress: bool = False,
    stdstats: bool = True,
) -> RunResult:
    """Run ``strategy`` on ``frames`` (``[(symbol, normalised OHLCV frame)]``).

    Parameters
    ----------
    broker : FinbotBroker or None
        The broker to use; None for ``FinbotBroker()`` (BackBroker behaviour).
    label : str
        Name of the run in summaries and reports.
    strategy_params : mapping or None
        Backtrader params for the strategy.
    progress : bool
        Draw a progress bar on stderr (only after a few seconds).
    stdstats : bool
        Keep Backtrader's standard observers (needed by ``cerebro.plot()``).
    """
    analyzers = [TRADE_ANALYZER, (TradeLog, {"_name": TRADE_LOG_NAME})]
    if progress:
        analyzers.append((ProgressBar, {"total": max(len(frame) for _, frame in frames)}))
    cerebro, result = run_cerebro(
        [make_feed(frame, symbol) for symbol, frame in frames],
        broker if broker is not None else FinbotBroker(), strategy, strategy_params,
        analyzers=analyzers, stdstats=stdstats,
    )
    used = cerebro.broker
    prices = dict(frames)
    return RunResult(label=label, broker=used, strategy=result, cerebro=cerebro,
                     prices=prices, summary=summarize(label, used, result, prices))


__all__ = ["RunResult", "run_backtest", "sample_frames"]
