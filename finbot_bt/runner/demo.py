"""The demo: the SMA crossover on the bundled data, default broker against realistic execution.

``realistic_broker()`` is the configuration the README and ``finbot-bt demo``
show: NORMAL latency, a 10 % participation cap (partial fills), 5 bps
slippage, 0.1 % commission and two risk rules (at most 1,100 shares per
position; reducing-only after a 12 % drawdown from the peak).
:func:`write_demo_report` draws both runs, and buy-and-hold, in one report.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from finbot_bt.broker import FinbotBroker
from finbot_bt.contracts.risk import DrawdownLimitRule, PositionLimitRule, RiskConfig
from finbot_bt.execution.commission import PercentCommission
from finbot_bt.execution.fills import FillConfig, ParticipationCap
from finbot_bt.execution.slippage import BasisPointsSlippage
from finbot_bt.runner.backtest import RunResult, run_backtest, sample_frames
from finbot_bt.runner.strategies import SmaCross
from finbot_bt.runner.summary import summary_frame

DEMO_CASH = 100_000.0
DEMO_RISK = RiskConfig(
    position_limit=PositionLimitRule(max_shares=Decimal(1100)),
    drawdown_limit=DrawdownLimitRule(max_total_drawdown_pct=Decimal(12)),
)
DEMO_FILL = FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.1")))
DEFAULT_LABEL = "FinbotBroker()"
REALISTIC_LABEL = "normal+risk+cap"
DEMO_TITLE = "finbot-bt demo: SMA crossover, NORMAL latency, risk limits, volume cap"


def default_broker() -> Any:
    """``FinbotBroker`` with no execution settings: behaves like Backtrader's BackBroker."""
    return FinbotBroker(cash=DEMO_CASH)


def realistic_broker(**overrides: Any) -> Any:
    """The demo's realistic broker (see the module docstring); ``overrides`` replace its params."""
    params: dict[str, Any] = {
        "cash": DEMO_CASH,
        "latency": "normal",
        "risk": DEMO_RISK,
        "fill": DEMO_FILL,
        "slippage": BasisPointsSlippage(bps=Decimal(5)),
        "commission": PercentCommission(rate=Decimal("0.001")),
        "seed": 7,
    }
    params.update(overrides)
    return FinbotBroker(**params)


def run_demo(*, progress: bool = False) -> tuple[RunResult, RunResult]:
    """Run the SMA crossover with :func:`default_broker` and :func:`realistic_broker`."""
    frames = sample_frames()
    default = run_backtest(SmaCross, frames, broker=default_broker(), label=DEFAULT_LABEL, progress=progress)
    realistic = run_backtest(SmaCross, frames, broker=realistic_broker(), label=REALISTIC_LABEL,
                             progress=progress)
    return default, realistic


def write_demo_report(default: RunResult, realistic: RunResult, out_dir: str | Path) -> Any:
    """Write the demo's report: the realistic run in full, the default run beside it in the equity figure.

    Returns the :class:`~finbot_bt.reports.ReportFiles` written.
    """
    from finbot_bt.reports import write_report

    return write_report(realistic.broker, out_dir, prices=realistic.prices, title=DEMO_TITLE,
                        label=realistic.label, compare={default.label: default.broker},
                        summary=summary_frame([default.summary, realistic.summary]))


__all__ = ["DEMO_CASH", "DEMO_FILL", "DEMO_RISK", "DEMO_TITLE", "default_broker", "realistic_broker", "run_demo",
           "write_demo_report"]
