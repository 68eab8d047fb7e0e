"""The one run function of finbot_bt: a strategy on OHLCV frames through a FinbotBroker.

``finbot-bt run``, the demo, sweep cells and regression runs all go through
:func:`run_backtest`; it returns what summaries and reports need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from finbot_bt.broker import FinbotBroker
from finbot_bt.broker.engine import TRADE_ANALYZER, TradeLog, run_cerebro
from finbot_bt.broker.progress import ProgressBar, progress_enabled
from finbot_bt.data import SAMPLE_SYMBOL, sample_path
from finbot_bt.errors import ConfigError
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


Frames = Mapping[str, pd.DataFrame] | Sequence[tuple[str, pd.DataFrame]]
"""Feeds of a run: ``{symbol: frame}`` or ``[(symbol, frame), ...]`` (normalised OHLCV frames)."""


def frame_pairs(frames: Frames) -> list[tuple[str, pd.DataFrame]]:
    """``frames`` as ``[(symbol, frame)]``; raise ConfigError naming what is wrong with anything else."""
    if isinstance(frames, Mapping):
        items = list(frames.items())
    elif isinstance(frames, Sequence) and not isinstance(frames, (str, bytes)):
        items = list(frames)
    else:
        raise ConfigError(f"frames must be a mapping of name to DataFrame or a sequence of (name, DataFrame) "
                          f"pairs, got {type(frames).__name__}")
    if not items:
        raise ConfigError("frames is empty: give at least one (name, DataFrame)")
    for position, item in enumerate(items):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], pd.DataFrame)):
            shown = type(item).__name__ if not isinstance(item, tuple) else \
                f"({', '.join(type(part).__name__ for part in item)})"
            raise ConfigError(f"frames[{position}] must be a (name, DataFrame) pair with a str name, got {shown}")
    names = [name for name, _ in items]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ConfigError(f"frames names {duplicated[0]!r} twice: every feed needs its own name")
    return items


def run_backtest(
    strategy: type[Any],
    frames: Frames,
    *,
    broker: Any = None,
    label: str = "FinbotBroker",
    strategy_params: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    stdstats: bool = True,
    notes: Sequence[str] = (),
    analyzers: Sequence[tuple[Any, Mapping[str, Any]]] = (),
    fresh_order_refs: bool = False,
) -> RunResult:
    """Run ``strategy`` on ``frames`` (``{symbol: frame}`` or ``[(symbol, frame)]``, normalised OHLCV).

    Parameters
    ----------
    broker : FinbotBroker or None
        The broker to use; None for ``FinbotBroker()`` (BackBroker behaviour).
    label : str
        Name of the run in summaries and reports.
    strategy_params : mapping or None
        Backtrader params for the strategy.
    progress : bool or None
        Show a tqdm progress bar (only after a few seconds); None (default) shows it
        in terminals and Jupyter, not when output is not interactive.
    stdstats : bool
        Keep Backtrader's standard observers (needed by ``cerebro.plot()``).
    notes : sequence of str
        Lines for the summary (the broker's data warnings are added after them).
    analyzers : sequence of (analyzer class, keyword arguments)
        More Backtrader analyzers (Backtrader's TradeAnalyzer, as ``trades``, is always added).
    fresh_order_refs : bool
        Restart Backtrader's process-wide order numbering, so that runs in one
        process (a sweep worker) number their orders alike.

    Raises
    ------
    ConfigError
        ``frames`` is neither a mapping nor a sequence of ``(str, DataFrame)`` pairs.
    """
    pairs = frame_pairs(frames)
    added = [TRADE_ANALYZER, (TradeLog, {"_name": TRADE_LOG_NAME}), *analyzers]
    if progress if progress is not None else progress_enabled():
        added.append((ProgressBar, {"total": max(len(frame) for _, frame in pairs)}))
    cerebro, result = run_cerebro(
        [make_feed(frame, symbol) for symbol, frame in pairs],
        broker if broker is not None else FinbotBroker(), strategy, strategy_params,
        analyzers=added, stdstats=stdstats, fresh_order_refs=fresh_order_refs,
    )
    used = cerebro.broker
    prices = dict(pairs)
    return RunResult(label=label, broker=used, strategy=result, cerebro=cerebro,
                     prices=prices, summary=summarize(label, used, result, prices, notes))


__all__ = ["Frames", "RunResult", "frame_pairs", "run_backtest", "sample_frames"]
