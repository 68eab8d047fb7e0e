"""Run a sweep: every cell as one Dask task, results gathered into one DataFrame.

Schedulers
----------
* ``scheduler=None``: a ``distributed.LocalCluster`` of ``workers`` single-threaded
  processes (default: one per CPU), started and closed by the sweep.
* ``scheduler="tcp://host:8786"``: an existing Dask scheduler; its workers must be
  able to import finbot_bt and the strategies, and to read the data paths.
* ``scheduler=<distributed.Client>``: reuse a connected client (left open).
* ``scheduler="synchronous"``: run the cells one after another in this process
  (no Dask), the reference that parallel runs must equal.

Each cell is seeded, so the table (sorted by cell index) does not depend on the
scheduler, the worker count or the completion order. Tasks carry only file
paths; each worker process reads a data file once (:mod:`finbot_bt.sweep.data`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd

from finbot_bt.errors import ConfigError
from finbot_bt.sweep.backtest import run_cell
from finbot_bt.sweep.cell import CellSpec, validate_cells
from finbot_bt.sweep.grid import GridSpec, load_grid
from finbot_bt.sweep.metrics import results_frame
from finbot_bt.sweep.store import ResultStore

SYNCHRONOUS = "synchronous"


class Progress:
    """A ``tqdm.auto`` counter of finished cells (``n failed`` as its postfix); silent when not interactive."""

    def __init__(self, total: int, *, skipped: int = 0, enabled: bool | None = None,
                 stream: IO[str] | None = None) -> None:
        from tqdm.auto import tqdm

        from finbot_bt.broker.progress import progress_enabled

        self.stream = stream or sys.stderr
        self.enabled = progress_enabled(self.stream) if enabled is None else enabled
        self.total, self.done, self.failed, self.skipped = total, 0, 0, skipped
        self._bar: Any = tqdm(total=total, unit="cell", desc="sweep", file=self.stream, disable=not self.enabled)
        if skipped:
            self._bar.set_postfix_str(f"{skipped} resumed")

    def update(self, row: dict[str, Any]) -> None:
        """Count one finished cell."""
        self.done += 1
        self.failed += row.get("status") != "ok"
        skipped = f", {self.skipped} resumed" if self.skipped else ""
        self._bar.set_postfix_str(f"{self.failed} failed{skipped}", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        """End the progress line."""
        self._bar.close()


def _cells(grid: GridSpec | Iterable[CellSpec] | str | Path, base_dir: Path | None) -> list[CellSpec]:
    if isinstance(grid, (str, Path)):
        return load_grid(grid)[1]
    if isinstance(grid, GridSpec):
        return grid.cells(base_dir)
    return list(grid)


@contextmanager
def _client(scheduler: Any, workers: int | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is not None:
        with Client(str(scheduler), timeout="20s") as client:
            yield client
        return
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise ConfigError(f"workers must be >= 1, got {workers!r}")
    with LocalCluster(n_workers=count, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.WARNING) as cluster, Client(cluster) as client:
        yield client


def _lost_row(cell: CellSpec, exc: BaseException) -> dict[str, Any]:
    row = cell.labels()
    row.update(status="error", error=f"task failed on the cluster: {type(exc).__name__}: {exc}")
    return row


def _run_parallel(cells: list[CellSpec], scheduler: Any, workers: int | None) -> Iterator[dict[str, Any]]:
    from distributed import as_completed

    with _client(scheduler, workers) as client:
        futures = client.map(run_cell, cells, pure=False)
        owner = {future.key: cell for future, cell in zip(futures, cells, strict=True)}
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # a worker died or the task could not run: report the cell
                    yield _lost_row(owner[future.key], exc)
        finally:
            client.cancel(futures)


def run_sweep(grid: GridSpec | Iterable[CellSpec] | str | Path, *, scheduler: Any = None,
              workers: int | None = None, out: str | Path | None = None, progress: bool | None = None,
              retry_errors: bool = False, flush_every: int = 16, flush_seconds: float = 5.0,
              base_dir: Path | None = None, validate: bool = True) -> pd.DataFrame:
    """Run every cell of ``grid`` and return the results table (one row per cell, by cell index).

    Parameters
    ----------
    grid : GridSpec, iterable of CellSpec, or path of a grid TOML file
        What to run; a GridSpec's relative data paths resolve against ``base_dir``.
    scheduler : None, str or distributed.Client
        ``None`` (LocalCluster), an address, a client, or ``"synchronous"``; see the module docstring.
    workers : int or None
        Worker processes of the LocalCluster (default: CPU count). Ignored otherwise.
    out : path or None
        Results directory (Parquet parts). Finished cells found there are skipped.
    progress : bool or None
        Show a counter on stderr; ``None`` shows it when stderr is a terminal.
    retry_errors : bool
        On resume, run again the cells stored with an error.
    flush_every, flush_seconds : int, float
        Write a part file after this many rows or seconds (whichever comes first).
    validate : bool
        Before starting the cluster, import every strategy, check every cell's params
        against it and load every data file (:func:`~finbot_bt.sweep.cell.validate_cells`),
        so a misspelt param fails at once rather than in every cell.

    Raises
    ------
    ConfigError, StrategyImportError, DataError
        From the validation, before any cell runs.
    """
    cells = _cells(grid, base_dir)
    if validate:
        validate_cells(cells, str(grid) if isinstance(grid, (str, Path)) else "grid")
    store = ResultStore(out) if out is not None else None
    done = store.finished(retry_errors) if store is not None else set()
    todo = [cell for cell in cells if cell.key not in done]
    counter = Progress(len(todo), skipped=len(cells) - len(todo), enabled=progress)
    rows: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    last_flush = time.monotonic()
    source = (map(run_cell, todo) if scheduler == SYNCHRONOUS
              else _run_parallel(todo, scheduler, workers) if todo else iter(()))
    try:
        for row in source:
            rows.append(row)
            pending.append(row)
            counter.update(row)
            if store is not None and (len(pending) >= flush_every
                                      or time.monotonic() - last_flush >= flush_seconds):
                store.append(pending)
                pending, last_flush = [], time.monotonic()
    finally:
        if store is not None and pending:
            store.append(pending)
        counter.close()
    if store is None:
        return results_frame(rows)
    return _for_grid(store.read(), cells)


def _for_grid(stored: pd.DataFrame, cells: list[CellSpec]) -> pd.DataFrame:
    index = {cell.key: cell.index for cell in cells}
    if stored.empty:
        return stored
    frame = stored[stored["cell_key"].isin(index)].copy()
    frame["cell"] = frame["cell_key"].map(index)
    return results_frame(frame.to_dict("records"))


__all__ = ["Progress", "SYNCHRONOUS", "run_sweep"]
