"""The run summary's tear-sheet rows, cross-checked against Backtrader's analyzers, the raw data and empyrical."""

from __future__ import annotations

from typing import Any

import empyrical
import pandas as pd
import pytest

from finbot_bt.data import sample_path
from finbot_bt.runner.backtest import RunResult, run_backtest, sample_frames
from finbot_bt.runner.demo import realistic_broker
from finbot_bt.runner.strategies import SmaCross
from finbot_bt.runner.summary import MISSING, format_table, monthly_rows, summary_frame


class RecordingSmaCross(SmaCross):  # type: ignore[misc]
    """SmaCross that records its position at the end of every bar (warm-up included)."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[bool] = []

    def prenext(self) -> None:
        self.held.append(self.position.size != 0)

    def next(self) -> None:
        self.held.append(self.position.size != 0)
        super().next()


@pytest.fixture(scope="module")
def run() -> RunResult:
    return run_backtest(RecordingSmaCross, sample_frames(), broker=realistic_broker(), label="realistic")


def test_summary_when_run_then_win_rate_and_profit_factor_match_trade_analyzer(run: RunResult) -> None:
    analysis: Any = run.strategy.analyzers.getbyname("trades").get_analysis()
    trading = run.summary.trading
    assert trading is not None
    closed = analysis.total.closed
    assert closed == run.summary.trades and closed > 3
    assert trading.win_rate_pct == pytest.approx(analysis.won.total / closed * 100)
    assert trading.profit_factor == pytest.approx(analysis.won.pnl.total / -analysis.lost.pnl.total)


def test_summary_when_run_then_exposure_matches_positions_seen_by_the_strategy(run: RunResult) -> None:
    held = run.strategy.held
    assert len(held) == len(run.broker.equity_frame())
    assert run.summary.trading is not None
    assert run.summary.trading.exposure_pct == pytest.approx(sum(held) / len(held) * 100)


def test_summary_when_run_then_turnover_is_traded_value_over_mean_equity(run: RunResult) -> None:
    fills = run.broker.fills_frame()
    traded = sum(abs(q * p) for q, p in zip(fills["quantity"], fills["price"], strict=True))
    assert run.summary.trading is not None
    assert run.summary.trading.turnover == pytest.approx(traded / run.broker.equity_frame()["value"].mean())


def test_summary_when_run_then_benchmark_is_buy_and_hold_of_the_raw_closes(run: RunResult) -> None:
    raw = pd.read_csv(sample_path())
    close = raw[next(c for c in raw.columns if c.lower() == "close")]
    bench = run.summary.benchmark
    assert bench is not None and run.summary.benchmark_label == "buy & hold SYNTH"
    assert bench.total_return_pct == pytest.approx((close.iloc[-1] / close.iloc[0] - 1) * 100)
    returns = close.pct_change().dropna()
    assert bench.sharpe == pytest.approx(empyrical.sharpe_ratio(returns, annualization=252))
    assert bench.max_drawdown_pct == pytest.approx(-empyrical.max_drawdown(returns) * 100)
    frame = summary_frame([run.summary])
    assert list(frame.columns) == ["realistic", "buy & hold SYNTH"]
    assert frame.loc["final value", "buy & hold SYNTH"] == f"{100_000 * close.iloc[-1] / close.iloc[0]:,.2f}"
    assert frame.loc["orders", "buy & hold SYNTH"] == MISSING


def test_summary_when_run_then_sharpe_matches_empyrical_on_daily_equity(run: RunResult) -> None:
    values = run.broker.equity_frame()["value"]
    returns = values.groupby(pd.DatetimeIndex(values.index).normalize()).last().pct_change().dropna()
    assert run.summary.performance is not None
    assert run.summary.performance.sharpe == pytest.approx(empyrical.sharpe_ratio(returns, annualization=252))
    assert run.summary.performance.sortino == pytest.approx(empyrical.sortino_ratio(returns, annualization=252))


def test_format_table_when_printed_then_tear_sheet_rows_and_monthly_grid(run: RunResult) -> None:
    text = format_table([run.summary])
    for row in ("CAGR", "volatility", "Sharpe", "Sortino", "max drawdown", "win rate", "profit factor",
                "exposure", "turnover", "monthly returns, %"):
        assert row in text
    rows = dict(monthly_rows([run.summary]))
    assert set(rows) == {"realistic 2022", "realistic 2023", "buy & hold SYNTH 2022", "buy & hold SYNTH 2023"}
    assert len(rows["realistic 2022"]) == 13  # twelve months and the year
    assert "monthly returns" not in format_table([run.summary], monthly=False)
    assert "buy & hold" not in format_table([run.summary], benchmark=False)
