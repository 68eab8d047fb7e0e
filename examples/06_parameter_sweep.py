"""A parameter sweep: SMA windows on a grid, each run with NORMAL latency and costs.

A plain loop over a small grid; every run is seeded, so the ranking is
reproducible. (For large grids, run the same function on a process pool.)
Run: python examples/06_parameter_sweep.py
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from finbot_bt import FinbotBroker
from finbot_bt.broker.strategies import SmaCross
from finbot_bt.execution.commission import PercentCommission
from finbot_bt.runner.backtest import run_backtest, sample_frames

FAST = (5, 10, 20)
SLOW = (30, 50)


def evaluate(frames, fast, slow):
    broker = FinbotBroker(cash=100_000.0, latency="normal", seed=11,
                          commission=PercentCommission(rate=Decimal("0.001")))
    result = run_backtest(SmaCross, frames, broker=broker, strategy_params={"fast": fast, "slow": slow},
                          stdstats=False)
    return result.summary


if __name__ == "__main__":
    frames = sample_frames()
    rows = [(fast, slow, evaluate(frames, fast, slow)) for fast, slow in itertools.product(FAST, SLOW)]
    rows.sort(key=lambda row: row[2].final_value, reverse=True)
    print(" fast  slow    final value   return  max dd  trades  commission")
    for fast, slow, s in rows:
        print(f"{fast:5d} {slow:5d}  {s.final_value:13,.2f}  {s.return_pct:+6.2f}%  {s.max_drawdown_pct:5.2f}%  "
              f"{s.trades:6d}  {s.total_commission:10,.2f}")
    best = rows[0]
    print(f"\nbest: fast={best[0]} slow={best[1]}")
