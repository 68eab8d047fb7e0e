"""``finbot-bt sweep``: the command-line end of sweeps.

``cli.py`` owns the parser; :func:`sweep_command` does the work and returns the
exit status (0 ok; 8 a sweep finished with failed cells, as
``finbot_bt.cli.ExitCode.SWEEP_CELLS_FAILED``). ``finbot-bt regress`` lives in
:mod:`finbot_bt.regress.command`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

SWEEP_FAILED_EXIT = 8

SHOWN = ["cell", "strategy", "data", "latency", "risk", "commission_model", "slippage_model", "seed",
         "status", "final_value", "return_pct", "max_drawdown_pct", "sharpe", "trades", "rejections",
         "median_latency_seconds", "commission"]


def default_out(grid: str) -> str:
    """``<grid stem>-results.parquet`` in the current directory."""
    return f"{Path(grid).stem}-results.parquet"


def sweep_command(args: argparse.Namespace) -> int:
    """Run ``args.grid`` and print the table; results go to ``args.out`` (resumable)."""
    from finbot_bt.broker.progress import progress_enabled
    from finbot_bt.sweep.runner import SYNCHRONOUS, run_sweep

    scheduler = SYNCHRONOUS if args.workers == 0 else args.scheduler
    out = args.out or default_out(args.grid)
    table = run_sweep(args.grid, scheduler=scheduler, workers=args.workers, out=out,
                      progress=progress_enabled(), retry_errors=args.retry_errors)
    print(format_sweep(table))
    print(f"\nresults: {out} ({len(table)} cells; read with finbot_bt.sweep.ResultStore(path).read())")
    failed = int((table["status"] != "ok").sum()) if not table.empty else 0
    return SWEEP_FAILED_EXIT if failed else 0


def format_sweep(table: pd.DataFrame) -> str:
    """The table's main columns (parameters included), and each failed cell's error."""
    params = [c for c in table.columns if str(c).startswith("param_")]
    columns = [c for c in SHOWN if c in table.columns]
    columns[columns.index("seed") + 1:columns.index("seed") + 1] = params
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 200):
        text = table[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    failed = table[table["status"] != "ok"]
    lines = [text, f"\n{len(table)} cells, {len(failed)} failed"]
    lines += [f"  cell {int(row.cell)}: {row.error}" for row in failed.itertuples()]
    return "\n".join(lines)


__all__ = ["SWEEP_FAILED_EXIT", "default_out", "format_sweep", "sweep_command"]
