"""Sweep scaling on Dask: a 40-cell sweep with 1 and 2 worker processes, and Dask's per-task overhead.

Run: ``python benchmarks/bench_sweep.py [--cells 40] [--bars 1500] [--repeat 2]``

* serial: ``run_sweep(..., scheduler="synchronous")`` in this process (no Dask);
* 1 and 2 workers: a ``LocalCluster`` of single-threaded processes, started and
  warmed up (imports, one cell) before timing, so the figure is the sweep itself;
  the cluster start-up time is reported separately;
* overhead: 40 trivial tasks (``client.map`` + ``gather``) on one worker, and
  (1-worker sweep - serial sweep) / cells.

Each sweep's table is checked equal to the serial one. Wall times are the best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distributed import Client, LocalCluster

from finbot_bt.sweep import grid_from_dict, run_sweep
from finbot_bt.sweep.cell import CellSpec
from tests.bt_harness import make_ohlcv


def make_cells(folder: Path, cells: int, bars: int) -> list[CellSpec]:
    for name, seed in (("walk_a", 5), ("walk_b", 9)):
        frame = make_ohlcv(n=bars, seed=seed)
        frame.index = frame.index.strftime("%Y-%m-%d")
        frame.index.name = "date"
        frame.to_csv(folder / f"{name}.csv")
    grid = grid_from_dict({
        "strategies": [{"path": "finbot_bt.broker.strategies:LimitPullback",
                        "params": {"pullback_pct": [0.2, 0.4, 0.6, 0.8, 1.0], "hold_bars": [3, 6]}}],
        "data": {"ab": ["walk_a.csv", "walk_b.csv"]},
        "broker": {"latency": ["instant", "normal"], "commission": ["ibkr"], "seed": [1, 2]},
        "commission": {"ibkr": {"kind": "per_share", "rate": "0.005", "minimum": "1"}},
    })
    return grid.cells(folder)[:cells]


def _noop(i: int) -> int:
    return i


def best(repeat: int, run: Any) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--bars", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cells = make_cells(Path(tmp), args.cells, args.bars)
        print(f"{len(cells)} cells, LimitPullback on 2 feeds x {args.bars} bars; cpus={os.cpu_count()}, "
              f"load average {os.getloadavg()[0]:.2f}")
        serial_time, serial = best(args.repeat, lambda: run_sweep(cells, scheduler="synchronous", progress=False))
        print(f"serial (no Dask):      {serial_time:7.2f} s  ({serial_time / len(cells) * 1000:.0f} ms/cell)")
        timings: dict[int, float] = {}
        for workers in (1, 2):
            start = time.perf_counter()
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster, Client(cluster) as client:
                run_sweep(cells[:workers], scheduler=client, progress=False)  # warm-up: imports, data cache
                startup = time.perf_counter() - start
                timings[workers], table = best(args.repeat,
                                               lambda c=client: run_sweep(cells, scheduler=c, progress=False))
                pd.testing.assert_frame_equal(table, serial)
                if workers == 1:
                    client.gather(client.map(_noop, range(40), pure=False))
                    trivial, _ = best(5, lambda c=client: c.gather(c.map(_noop, range(40), pure=False)))
            print(f"{workers} worker(s):           {timings[workers]:7.2f} s  (cluster start + warm-up {startup:.2f} s)")
        print(f"speed-up 2 vs 1 worker: {timings[1] / timings[2]:.2f}x")
        print(f"Dask overhead: 40 trivial tasks in {trivial * 1000:.1f} ms = {trivial / 40 * 1000:.2f} ms/task; "
              f"sweep on 1 worker vs serial: {(timings[1] - serial_time) / len(cells) * 1000:+.1f} ms/cell")


if __name__ == "__main__":
    main()
