"""The finbot-bt command line: every command and every error path, through main(argv)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from finbot_bt.cli import ExitCode, main
from finbot_bt.data import sample_path
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.simulator import ExecutionSimulator

STRATEGY = textwrap.dedent("""
    import backtrader as bt

    class BuyOnce(bt.Strategy):
        params = (("size", 10),)

        def next(self):
            if len(self) == 3:
                self.buy(size=self.p.size)

    class Boom(bt.Strategy):
        def next(self):
            raise ValueError("boom in next")

    NOT_A_STRATEGY = 3
""")


@pytest.fixture
def strategy_file(tmp_path: Path) -> Path:
    path = tmp_path / "mystrat.py"
    path.write_text(STRATEGY)
    return path


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(textwrap.dedent(text))
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("finbot-bt: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_demo_when_run_then_prints_side_by_side_summary_and_writes_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "demo", "--out", str(tmp_path / "rep"))
    assert code == ExitCode.OK
    for metric in ("final value", "return", "max drawdown", "trades", "fills", "partial fills", "rejections",
                   "median latency", "total slippage", "total commission", "FinbotBroker()"):
        assert metric in out
    assert "risk_position_limit" in out
    assert (tmp_path / "rep" / "report.html").is_file()
    assert (tmp_path / "rep" / "equity.png").is_file()


def test_run_when_file_strategy_and_config_then_summary_and_report(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, """
        cash = 50000
        latency = "fast"
        seed = 3
        [commission]
        kind = "percent"
        rate = "0.001"
        [slippage]
        kind = "bps"
        bps = 5
        [fill]
        volume_cap = "participation"
        fraction = 0.1
        [risk]
        order_size = { max_order_quantity = 100 }
        [strategy]
        size = 20
    """)
    code, out, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(sample_path()),
                          "--config", str(config), "--report", str(tmp_path / "rep"))
    assert code == ExitCode.OK, err
    assert "BuyOnce (fast latency)" in out
    assert (tmp_path / "rep" / "report.html").is_file()


def test_run_when_module_strategy_and_two_feeds_then_ok(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(strategy_file.parent))
    second = tmp_path / "other.csv"
    second.write_text(sample_path().read_text())
    code, out, err = _run(capsys, "run", "mystrat:BuyOnce", "--data", str(sample_path()), "--data", str(second))
    assert code == ExitCode.OK, err
    assert "final value" in out


@pytest.mark.parametrize(("layout", "text"), [
    ("backtrader", "Date,Open,High,Low,Close,Volume,OpenInterest\n{rows}"),
    ("generic", "timestamp,open,high,low,close,volume\n{rows}"),
    ("generic-no-volume", "datetime,open,high,low,close\n{rows}"),
], ids=["backtrader", "generic", "generic-no-volume"])
def test_run_when_csv_layout_then_loads(tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str],
                                        layout: str, text: str) -> None:
    rows = [f"2023-01-{day:02d},10,11,9,10.5" for day in range(2, 28)]
    volume = "" if layout == "generic-no-volume" else (",1000,0" if layout == "backtrader" else ",1000")
    path = tmp_path / "bars.csv"
    path.write_text(text.format(rows="\n".join(r + volume for r in rows)) + "\n")
    code, _, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(path))
    assert code == ExitCode.OK, err


def test_run_when_parquet_then_loads(tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyarrow")
    from finbot_bt.runner.loading import load_ohlcv

    path = tmp_path / "bars.parquet"
    load_ohlcv(sample_path()).to_parquet(path)
    code, _, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(path))
    assert code == ExitCode.OK, err


@pytest.mark.parametrize(("config", "expected"), [
    ('cash = 1000\nbogus = 1\n', "unknown key 'bogus'"),
    ('[fill]\nvolume_cap = "participation"\nfractoin = 0.1\n', "unknown key 'fill.fractoin'"),
    ('seed = "seven"\n', "key 'seed'"),
    ('cash = "lots"\n', "key 'cash'"),
    ('latency = "medium"\n', "key 'latency'"),
    ('[latency]\nsubmission_ms = "x"\n', "key 'latency.submission_ms'"),
    ('[risk]\norder_size = { max_qty = 3 }\n', "unknown key 'max_qty'"),
    ('[strategy]\nsizee = 3\n', "unknown key 'strategy.sizee'"),
    ('cash = \n', "not valid TOML"),
], ids=["unknown-top", "unknown-nested", "seed-type", "cash-type", "latency-profile", "latency-type",
        "risk-key", "strategy-param", "toml-syntax"])
def test_run_when_config_bad_then_exit_2_naming_key_and_file(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str], config: str, expected: str) -> None:
    path = _config(tmp_path, config)
    code, _, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(sample_path()),
                        "--config", str(path))
    assert code == ExitCode.USAGE
    line = _one_line_error(err)
    assert expected in line
    assert str(path) in line


def test_run_when_config_missing_then_exit_2(tmp_path: Path, strategy_file: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(sample_path()),
                        "--config", str(tmp_path / "nope.toml"))
    assert code == ExitCode.USAGE
    assert "config file not found" in _one_line_error(err)


@pytest.mark.parametrize(("content", "expected"), [
    (None, "data file not found"),
    ("Date,Open,High,Low\n2023-01-02,1,2,1\n", "missing column(s) close"),
    ("foo,bar\n1,2\n", "no time column"),
    ("Date,Open,High,Low,Close\n2023-01-02,1,2,1,x\n", "non-numeric"),
    ("Date,Open,High,Low,Close\nnot-a-date,1,2,1,1\n", "cannot parse"),
], ids=["missing", "no-close", "no-time", "bad-number", "bad-date"])
def test_run_when_data_bad_then_exit_3(tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str],
                                       content: str | None, expected: str) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    code, _, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(path))
    assert code == ExitCode.DATA
    line = _one_line_error(err)
    assert expected in line
    assert str(path) in line


@pytest.mark.parametrize(("spec", "expected"), [
    ("{dir}/missing.py:BuyOnce", "strategy file not found"),
    ("{dir}/mystrat.py:Nope", "has no attribute 'Nope'"),
    ("{dir}/mystrat.py:NOT_A_STRATEGY", "not a backtrader Strategy"),
    ("{dir}/broken.py:X", "SyntaxError"),
    ("{dir}/raises.py:X", "ImportError: no such thing"),
    ("no_such_module_xyz:Strategy", "cannot import module 'no_such_module_xyz'"),
    ("mystrat.py", "must be 'path/to/file.py:ClassName'"),
], ids=["missing-file", "missing-name", "not-strategy", "syntax-error", "import-raises", "missing-module",
        "no-colon"])
def test_run_when_strategy_does_not_import_then_exit_4(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str], spec: str, expected: str) -> None:
    (tmp_path / "broken.py").write_text("def oops(:\n")
    (tmp_path / "raises.py").write_text("raise ImportError('no such thing')\n")
    code, _, err = _run(capsys, "run", spec.format(dir=tmp_path), "--data", str(sample_path()))
    assert code == ExitCode.STRATEGY_IMPORT
    assert expected in _one_line_error(err)


def test_run_when_strategy_raises_then_exit_5_with_location(
        strategy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "run", f"{strategy_file}:Boom", "--data", str(sample_path()))
    assert code == ExitCode.STRATEGY_FAILED
    line = _one_line_error(err)
    assert "ValueError: boom in next" in line
    assert "mystrat.py" in line


def test_main_when_usage_wrong_then_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "x.py:Y"]) == ExitCode.USAGE  # --data is required
    assert main(["frobnicate"]) == ExitCode.USAGE
    assert main([]) == ExitCode.USAGE
    capsys.readouterr()


def test_main_when_version_then_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "finbot-bt" in capsys.readouterr().out


def _checkpoint_dir(tmp_path: Path) -> Path:
    from decimal import Decimal

    base = tmp_path / "ckpt"
    manager = CheckpointManager(base)
    sim = ExecutionSimulator(Decimal(1000), simulator_id="alpha")
    manager.checkpoint(sim, metadata={"note": "first"})
    return base


def test_checkpoints_when_valid_then_list_show_verify_ok(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    base = _checkpoint_dir(tmp_path)
    code, out, _ = _run(capsys, "checkpoints", "list", str(base))
    assert code == ExitCode.OK
    assert "alpha: 1 checkpoint(s)" in out and "(latest)" in out
    code, out, _ = _run(capsys, "checkpoints", "show", str(base))
    assert code == ExitCode.OK
    assert "simulator_id" in out and "alpha" in out and "note=first" in out
    code, out, _ = _run(capsys, "checkpoints", "show", str(base / "alpha"))
    assert code == ExitCode.OK
    code, out, _ = _run(capsys, "checkpoints", "verify", str(base))
    assert code == ExitCode.OK
    assert "1 ok, 0 failed" in out


def test_checkpoints_when_tampered_then_verify_exit_6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _checkpoint_dir(tmp_path)
    file = next((base / "alpha").glob("*.json"))
    file.write_text(file.read_text().replace('"1000"', '"999999"', 1))
    code, out, _ = _run(capsys, "checkpoints", "verify", str(base))
    assert code == ExitCode.CHECKPOINT
    assert "FAILED" in out and "0 ok, 1 failed" in out


def test_checkpoints_when_folder_missing_then_exit_6_and_nothing_created(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("list", "show", "verify"):
        code, _, err = _run(capsys, "checkpoints", action, str(tmp_path / "nope"))
        assert code == ExitCode.CHECKPOINT
        assert "checkpoint folder not found" in _one_line_error(err)
    assert not (tmp_path / "nope").exists()


def test_checkpoints_when_folder_empty_then_list_says_so_and_verify_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "checkpoints", "list", str(tmp_path))
    assert code == ExitCode.OK and "no checkpoints" in out
    code, _, err = _run(capsys, "checkpoints", "verify", str(tmp_path))
    assert code == ExitCode.CHECKPOINT and "no checkpoints" in _one_line_error(err)


def test_console_script_when_data_missing_then_one_line_and_exit_3(tmp_path: Path, strategy_file: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "finbot_bt.cli", "run", f"{strategy_file}:BuyOnce",
                           "--data", str(tmp_path / "absent.csv")], capture_output=True, text=True)
    assert done.returncode == ExitCode.DATA
    assert done.stdout == ""
    assert done.stderr.strip() == f"finbot-bt: error: data file not found: {tmp_path / 'absent.csv'}"


def test_progress_bar_when_slow_then_draws_and_when_fast_then_silent() -> None:
    import io

    from finbot_bt.runner.backtest import run_backtest, sample_frames
    from finbot_bt.runner.progress import ProgressBar
    from finbot_bt.runner.strategies import SmaCross

    for delay, drawn in ((0.0, True), (1e9, False)):
        stream = io.StringIO()
        result = run_backtest(SmaCross, sample_frames(), stdstats=False)
        cerebro = result.cerebro
        cerebro.addanalyzer(ProgressBar, total=504, delay=delay, stream=stream)
        cerebro.run()
        assert ("100%" in stream.getvalue()) is drawn
        assert ("504/504" in stream.getvalue()) is drawn  # tqdm's counter


def test_progress_enabled_when_not_a_terminal_then_off_and_in_jupyter_then_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import types

    from finbot_bt.runner.progress import in_notebook, progress_enabled

    assert progress_enabled(io.StringIO()) is False  # pytest's captured output is not a terminal
    assert in_notebook() is False

    class ZMQInteractiveShell:
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = ZMQInteractiveShell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() is True
    assert progress_enabled(io.StringIO()) is True
