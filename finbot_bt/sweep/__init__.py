"""Parameter sweeps over strategies x broker settings x data sets, scaled out on Dask.

A consumer layer above ``finbot_bt.broker``: it reaches Backtrader only
through the broker package (:mod:`finbot_bt.broker.engine`), and nothing below
may import it. Dask (the ``sweep`` extra) is
imported only when a sweep runs on a cluster, so grids, cells and
``scheduler="synchronous"`` work without it.

Entry points: :func:`load_grid` (TOML -> :class:`GridSpec` and its cells),
:func:`run_sweep` (cells -> one pandas DataFrame, optionally stored as
resumable Parquet parts), :func:`run_cell` (one backtest -> one row),
:func:`backtest_cell` (one cell through :func:`finbot_bt.runner.backtest.run_backtest`).
"""

from finbot_bt.sweep.backtest import BacktestResult, backtest_cell, run_cell
from finbot_bt.sweep.cell import CellSpec
from finbot_bt.sweep.grid import GridSpec, grid_from_dict, load_grid
from finbot_bt.sweep.runner import SYNCHRONOUS, run_sweep
from finbot_bt.sweep.store import ResultStore

__all__ = [
    "SYNCHRONOUS", "BacktestResult", "CellSpec", "GridSpec", "ResultStore", "backtest_cell", "grid_from_dict",
    "load_grid", "run_cell", "run_sweep",
]
