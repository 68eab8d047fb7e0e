"""Sweeps: grid loading, per-cell determinism, Dask (LocalCluster and an external scheduler), resume."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from finbot_bt.cli import ExitCode
from finbot_bt.errors import ConfigError
from finbot_bt.runner.errors import StrategyImportError
from finbot_bt.sweep import ResultStore, grid_from_dict, load_grid, run_sweep
from finbot_bt.sweep import runner as sweep_runner
from finbot_bt.sweep.cell import CellSpec
from tests.bt_harness import make_ohlcv

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


def write_data(folder: Path) -> None:
    for name, seed in (("walk_a", 5), ("walk_b", 9)):
        frame = make_ohlcv(n=150, seed=seed)
        frame.index = frame.index.strftime("%Y-%m-%d")
        frame.index.name = "date"
        frame.to_csv(folder / f"{name}.csv")


def grid_table(**overrides: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "strategies": [
            {"path": "finbot_bt.broker.strategies:SmaCross", "params": {"fast": [5, 10], "slow": 20, "stake": 0.5}},
            {"path": "finbot_bt.broker.strategies:LimitPullback", "params": {"pullback_pct": 0.5, "stake": 20}},
        ],
        "data": {"a": "walk_a.csv", "ab": ["walk_a.csv", "walk_b.csv"]},
        "broker": {"latency": ["instant", "slow"], "risk": ["none", "tight"], "commission": "ibkr", "seed": 4},
        "risk": {"tight": {"order_size": {"max_order_quantity": 300}}},
        "commission": {"ibkr": {"kind": "per_share", "rate": "0.005", "minimum": "1"}},
    }
    table.update(overrides)
    return table


def make_cells(folder: Path, **overrides: Any) -> list[CellSpec]:
    write_data(folder)
    return grid_from_dict(grid_table(**overrides)).cells(folder)


@pytest.fixture(scope="module")
def two_worker_client() -> Iterator[Any]:
    # One LocalCluster (2 single-threaded worker processes) for the module: starting it is the slow part.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def test_grid_when_expanded_then_cartesian_product_in_stable_order(tmp_path: Path) -> None:
    cells = make_cells(tmp_path)
    assert len(cells) == (2 + 1) * 2 * 2 * 2
    assert [c.index for c in cells] == list(range(len(cells)))
    assert len({c.key for c in cells}) == len(cells)
    assert cells[0].strategy_params == {"fast": 5, "slow": 20, "stake": 0.5}
    assert (cells[0].latency_name, cells[1].risk_name) == ("instant", "tight")
    assert cells[0].data_paths == (str(tmp_path / "walk_a.csv"),)


def test_grid_when_key_unknown_then_config_error_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'broker\.latncy'"):
        grid_from_dict(grid_table(broker={"latncy": "slow"}))
    with pytest.raises(ConfigError, match=r"broker\.risk names 'loose'"):
        grid_from_dict(grid_table(broker={"risk": ["loose"]}))
    with pytest.raises(ConfigError, match="rate"):
        grid_from_dict(grid_table(commission={"ibkr": {"kind": "percent", "rate": "x"}}))


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"broker": {"latncy": "slow"}}, "unknown key 'broker.latncy'; did you mean 'latency'?"),
    ({"strategies": [{"path": "finbot_bt.broker.strategies:SmaCross", "parms": {}}]},
     "unknown key 'strategies.0.parms'; did you mean 'params'?"),
    ({"latency": {"colo": {"submision_ms": 1}}, "broker": {"latency": "colo"}},
     "unknown key 'submision_ms'; did you mean 'submission_ms'?"),
    ({"broker": {"seed": [True]}}, "broker.seed.0: Input should be a valid integer"),
    ({"broker": {"seed": ["7"]}}, "broker.seed.0: Input should be a valid integer"),
    ({"broker": {"seed": 7.0}}, "broker.seed.0: Input should be a valid integer"),
], ids=["broker-key", "strategy-key", "latency-key", "seed-bool", "seed-str", "seed-float"])
def test_grid_when_key_misspelt_or_type_loose_then_config_error_with_suggestion(
        overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        grid_from_dict(grid_table(**overrides))
    assert expected in str(caught.value)


def test_grid_when_loaded_from_toml_then_data_paths_relative_to_file(tmp_path: Path) -> None:
    write_data(tmp_path)
    (tmp_path / "grid.toml").write_text(
        '[[strategies]]\npath = "finbot_bt.broker.strategies:SmaCross"\nparams = { fast = [5, 8] }\n'
        '[data]\na = "walk_a.csv"\nsynth = "bundled:synthetic_daily.csv"\n'
        '[broker]\nlatency = ["instant", "colo"]\n[latency.colo]\nsubmission_ms = 1\nfill_max_ms = 3\n')
    _grid, cells = load_grid(tmp_path / "grid.toml")
    assert len(cells) == 8
    assert cells[0].data_paths == (str(tmp_path / "walk_a.csv"),)
    assert Path(cells[2].data_paths[0]).name == "synthetic_daily.csv"
    assert cells[1].latency == {"submission_ms": 1, "fill_max_ms": 3, "name": "colo"}


def test_sweep_when_run_twice_serially_then_identical_and_seeded(tmp_path: Path) -> None:
    cells = make_cells(tmp_path)[:6]
    first = run_sweep(cells, scheduler="synchronous", progress=False)
    second = run_sweep(list(reversed(cells)), scheduler="synchronous", progress=False)
    pd.testing.assert_frame_equal(first, second)
    assert (first["status"] == "ok").all()
    assert first.loc[first["risk"] == "tight", "rejected_risk_order_size"].sum() > 0
    slow = first[(first["latency"] == "slow") & (first["risk"] == "none")]
    assert (slow["median_latency_seconds"] > 0.5).all()


def test_sweep_when_run_on_local_cluster_with_two_workers_then_table_equals_serial(
        tmp_path: Path, two_worker_client: Any) -> None:
    cells = make_cells(tmp_path)
    serial = run_sweep(cells, scheduler="synchronous", progress=False)
    parallel = run_sweep(cells, scheduler=two_worker_client, progress=False)
    pd.testing.assert_frame_equal(serial, parallel)
    assert len(parallel) == 24 and (parallel["status"] == "ok").all()
    # Data is read once per worker process, not shipped per task: 2 files, each read at most once a worker.
    reads = two_worker_client.run(lambda: __import__("finbot_bt.sweep.data").sweep.data.cache_reads())
    assert all(count <= 2 for count in reads.values()), reads


FLAKY = """
from finbot_bt.broker.strategies import SmaCross


class Flaky(SmaCross):
    params = (("explode", False),)

    def next(self):
        if self.p.explode and len(self) > 30:
            raise RuntimeError("exploded")
        super().next()
"""


def test_sweep_when_cell_raises_then_row_reports_error_and_others_finish(
        tmp_path: Path, two_worker_client: Any) -> None:
    (tmp_path / "flaky.py").write_text(FLAKY)
    strategies = [{"path": "flaky.py:Flaky", "params": {"stake": 0.5, "explode": [False, True]}}]
    cells = make_cells(tmp_path, strategies=strategies, broker={"latency": "fast"}, data={"a": "walk_a.csv"})
    table = run_sweep(cells, scheduler=two_worker_client, progress=False)
    assert list(table["status"]) == ["ok", "error"]
    assert table.loc[1, "error"].startswith("RuntimeError: exploded")
    assert table.loc[0, "final_value"] > 0 and pd.isna(table.loc[1, "final_value"])


@pytest.mark.parametrize(("strategies", "error", "expected"), [
    ([{"path": "finbot_bt.broker.strategies:SmaCross", "params": {"fats": [5, 10]}}], ConfigError,
     "grid: unknown key 'params.fats'; did you mean 'fast'?"),
    ([{"path": "finbot_bt.broker.strategies:SmaCross", "params": {"stake": [0.5, "oops"]}}], ConfigError,
     "key 'params.stake': SmaCross.stake defaults to 0.95, so it takes a number, got 'oops'"),
    ([{"path": "finbot_bt.broker.strategies:NoSuchStrategy"}], StrategyImportError, "NoSuchStrategy"),
], ids=["misspelt-param", "param-type", "missing-strategy"])
def test_sweep_when_grid_invalid_then_refused_before_any_cell_runs(
        tmp_path: Path, monkeypatch: Any, strategies: Any, error: type[Exception], expected: str) -> None:
    cells = make_cells(tmp_path, strategies=strategies, data={"a": "walk_a.csv"})
    monkeypatch.setattr(sweep_runner, "_run_parallel", lambda *a: pytest.fail("the cluster was started"))
    with pytest.raises(error, match=re.escape(expected)):
        run_sweep(cells, out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_sweep_when_interrupted_then_resume_skips_finished_cells(tmp_path: Path, monkeypatch: Any) -> None:
    cells = make_cells(tmp_path)[:8]
    out = tmp_path / "results.parquet"
    calls: list[int] = []
    real = sweep_runner.run_cell

    def interrupted(cell: CellSpec) -> dict[str, Any]:
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append(cell.index)
        return real(cell)

    monkeypatch.setattr(sweep_runner, "run_cell", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(cells, scheduler="synchronous", out=out, flush_every=2, progress=False)
    assert len(ResultStore(out).read()) == 5  # the finished cells were flushed on the way out

    calls.clear()
    monkeypatch.setattr(sweep_runner, "run_cell", lambda cell: calls.append(cell.index) or real(cell))
    resumed = run_sweep(cells, scheduler="synchronous", out=out, progress=False)
    assert calls == [5, 6, 7]
    fresh = run_sweep(cells, scheduler="synchronous", progress=False)
    pd.testing.assert_frame_equal(resumed, fresh, check_dtype=False)

    calls.clear()
    run_sweep(cells, scheduler="synchronous", out=out, progress=False)
    assert calls == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dask_command() -> str:
    found = Path(sys.executable).parent / "dask"
    command = str(found) if found.exists() else shutil.which("dask")
    if command is None:  # the test extra installs dask[distributed]; its absence is a broken install
        pytest.fail("the `dask` command is missing: install finbot_bt[test]")
    return command


def test_sweep_when_pointed_at_external_scheduler_then_runs_there(tmp_path: Path) -> None:
    cells = make_cells(tmp_path)[:6]
    address = f"tcp://127.0.0.1:{_free_port()}"
    dask = _dask_command()
    common = ["--no-dashboard"]
    log = (tmp_path / "dask.log").open("w")
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  *common], stdout=log, stderr=subprocess.STDOUT)
    worker = subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                               "--nthreads", "1", *common], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
            worker_ids = set(client.scheduler_info()["workers"])
        table = run_sweep(cells, scheduler=address, progress=False, out=tmp_path / "out.parquet")
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
    assert len(worker_ids) == 1
    pd.testing.assert_frame_equal(table, run_sweep(cells, scheduler="synchronous", progress=False),
                                  check_dtype=False)


def test_sweep_command_when_run_in_process_then_prints_table_and_resumes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from finbot_bt.cli import main

    write_data(tmp_path)
    (tmp_path / "flaky.py").write_text(FLAKY)
    (tmp_path / "grid.toml").write_text(
        '[[strategies]]\npath = "flaky.py:Flaky"\n'
        'params = { fast = [5, 8], explode = [false, true] }\n[data]\na = "walk_a.csv"\n')
    out = tmp_path / "out.parquet"
    # Failed cells are rows of the table, and the exit status says the sweep is not clean.
    assert main(["sweep", "--grid", str(tmp_path / "grid.toml"), "--workers", "0", "--out", str(out)]) == \
        ExitCode.SWEEP_CELLS_FAILED == 8
    text = capsys.readouterr().out
    assert "4 cells, 2 failed" in text and "cell 1: RuntimeError: exploded" in text
    assert len(ResultStore(out).read()) == 4
    assert main(["sweep", "--grid", str(tmp_path / "grid.toml"), "--workers", "0", "--out", str(out)]) == 8
    assert len(list(out.glob("part-*.parquet"))) == 1  # nothing left to run, nothing written
    (tmp_path / "clean.toml").write_text(
        '[[strategies]]\npath = "flaky.py:Flaky"\nparams = { fast = [5, 8] }\n[data]\na = "walk_a.csv"\n')
    assert main(["sweep", "--grid", str(tmp_path / "clean.toml"), "--workers", "0", "--out",
                 str(tmp_path / "clean.parquet")]) == ExitCode.OK


def test_sweep_command_when_param_misspelt_then_exit_2_before_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from finbot_bt.cli import main

    write_data(tmp_path)
    grid = tmp_path / "grid.toml"
    grid.write_text('[[strategies]]\npath = "finbot_bt.broker.strategies:SmaCross"\n'
                    'params = { fast = [5, 8], slwo = 20 }\n[data]\na = "walk_a.csv"\n')
    assert main(["sweep", "--grid", str(grid), "--workers", "2", "--out", str(tmp_path / "o")]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip()
    assert err == (f"finbot-bt: error: {grid}: unknown key 'params.slwo'; did you mean 'slow'?: SmaCross has "
                   "params ['fast', 'slow', 'stake']")
    assert not (tmp_path / "o").exists()


def test_cell_builders_when_given_run_toml_layout_then_same_models_and_errors_as_finbot_bt_run() -> None:
    from decimal import Decimal

    from finbot_bt.execution.slippage import VolumeShareSlippage
    from finbot_bt.sweep.cell import build_commission, build_latency, build_slippage

    assert build_slippage({"kind": "volume_share", "impact": "0.2"}) == VolumeShareSlippage(impact=Decimal("0.2"))
    latency = build_latency({"submission_ms": 5, "fill_min_ms": 10, "fill_max_ms": 20, "name": "lab"})
    assert (latency.name, latency.fill_latency_max.microseconds) == ("lab", 20_000)
    with pytest.raises(ConfigError, match=r"commission: unknown key 'rat'"):
        build_commission({"kind": "percent", "rat": "0.001"})
    with pytest.raises(ConfigError, match=r"slippage: key 'kind'"):
        build_slippage({"kind": "teleport"})
