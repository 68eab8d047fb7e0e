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


@pytest.mark.parametrize(("config", "expected"), [
    ("seed = true\n", "key 'seed': Input should be a valid integer, got True"),
    ('seed = "7"\n', "key 'seed': Input should be a valid integer, got '7'"),
    ("seed = 7.0\n", "key 'seed': Input should be a valid integer, got 7.0"),
    ("checkpoint_every = true\n", "key 'checkpoint_every': Input should be a valid integer, got True"),
    ("simulator_id = 5\n", "key 'simulator_id': Input should be a valid string, got 5"),
    ("cash = true\n", "key 'cash'"),
    ('[fill]\ncheck_funds_on_submit = 1\n', "key 'fill.check_funds_on_submit': Input should be a valid boolean"),
    ('adjust = "adj"\n', "key 'adjust'"),
    ("[strategy]\nsize = 2.5\n", "key 'strategy.size': BuyOnce.size defaults to 10, so it takes an integer, got 2.5"),
    ('[strategy]\nsize = "3"\n', "key 'strategy.size'"),
    ("[strategy]\nsize = true\n", "key 'strategy.size'"),
], ids=["seed-bool", "seed-str", "seed-float", "every-bool", "id-int", "cash-bool", "fill-bool", "adjust-value",
        "param-float-for-int", "param-str", "param-bool"])
def test_run_when_config_type_wrong_then_exit_2_and_no_coercion(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str], config: str, expected: str) -> None:
    path = _config(tmp_path, config)
    code, out, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(sample_path()),
                          "--config", str(path))
    assert code == ExitCode.USAGE
    line = _one_line_error(err)
    assert expected in line and str(path) in line
    assert out == ""  # refused before anything ran


@pytest.mark.parametrize(("config", "expected"), [
    ('latncy = "normal"\n', "unknown key 'latncy'; did you mean 'latency'?"),
    ('[fill]\nvolume_cap = "participation"\nfracton = 0.1\n', "unknown key 'fill.fracton'; did you mean 'fraction'?"),
    ("[latency]\nsubmision_ms = 3\n", "unknown key 'latency.submision_ms'; did you mean 'submission_ms'?"),
    ("[risk]\norder_sze = { max_order_quantity = 3 }\n", "unknown key 'order_sze' in RiskConfig; "
                                                          "did you mean 'order_size'?"),
    ("[strategy]\nsise = 3\n", "unknown key 'strategy.sise'; did you mean 'size'?"),
], ids=["top", "fill", "latency", "risk", "strategy-param"])
def test_run_when_key_misspelt_then_exit_2_suggests_nearest(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str], config: str, expected: str) -> None:
    code, _, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(sample_path()),
                        "--config", str(_config(tmp_path, config)))
    assert code == ExitCode.USAGE
    assert expected in _one_line_error(err)


@pytest.mark.parametrize(("argv", "expected"), [
    (["rn"], "invalid choice: 'rn' (choose from 'demo', 'run', 'checkpoints', 'sweep', 'regress'); "
             "did you mean 'run'?"),
    (["run", "x.py:X", "--data", "d.csv", "--adjsut", "yahoo"], "unrecognized arguments: --adjsut yahoo; "
                                                               "did you mean '--adjust'?"),
    (["run", "x.py:X", "--data", "d.csv", "--adjust", "yaho"], "did you mean 'yahoo'?"),
    (["checkpoints", "lst", "d"], "did you mean 'list'?"),
], ids=["command", "option", "choice", "action"])
def test_main_when_name_misspelt_then_exit_2_suggests_nearest(
        capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == ExitCode.USAGE
    assert expected in err.strip().splitlines()[-1]


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


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("Close", "inf", "column 'close': price inf is not finite"),
    ("Open", "-3", "column 'open': price -3.0 is not above 0"),
    ("Low", "0", "column 'low': price 0.0 is not above 0"),
    ("High", "1e308", "column 'high': price 1e+308 is absurd"),
    ("High", "1", "column 'high': high 1.0 is below low"),
    ("Volume", "-5", "column 'volume': volume -5.0 is negative"),
    ("Volume", "n/a", "column 'volume': non-numeric value 'n/a'"),
    ("Close", "NaN", "column 'close': non-numeric value 'NaN'"),
], ids=["inf", "negative", "zero", "absurd", "high-below-low", "negative-volume", "text-volume",
        "nan-price"])
def test_run_when_data_value_bad_then_exit_3_naming_file_row_and_column(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str], column: str, value: str,
        expected: str) -> None:
    lines = sample_path().read_text().splitlines()[:40]
    header = lines[0].split(",")
    row = lines[12].split(",")  # data row 12, line 13 of the file
    row[header.index(column)] = value
    lines[12] = ",".join(row)
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(path))
    assert code == ExitCode.DATA
    line = _one_line_error(err)
    assert line.startswith(f"finbot-bt: error: {path}: row 12 (line 13), {row[0]} 00:00:00, ")
    assert expected in line
    assert out == ""


def test_run_when_adjust_yahoo_then_matches_backtrader_yahoo_feed_and_summary_says_so(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import backtrader as bt

    from finbot_bt import FinbotBroker
    from finbot_bt.broker.strategies import SmaCross
    from tests.test_loading import write_yahoo

    path = write_yahoo(tmp_path / "yahoo.csv")
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=str(path)))
    cerebro.setbroker(FinbotBroker(cash=100000))  # the CLI's default cash
    cerebro.addstrategy(SmaCross)
    cerebro.run()
    expected = f"{cerebro.broker.getvalue():,.2f}"
    finals = {}
    for argv in ([], ["--adjust", "yahoo"]):
        code, out, err = _run(capsys, "run", "finbot_bt.broker.strategies:SmaCross", "--data", str(path), *argv)
        assert code == ExitCode.OK, err
        finals[tuple(argv)] = next(line.split()[2] for line in out.splitlines() if line.startswith("final value"))
        assert ("adjusted by Adj Close and rounded to 2 decimals" in out) is bool(argv)
        assert ("prices: raw, as in the files (Adj Close ignored" in out) is not bool(argv)
    assert finals[("--adjust", "yahoo")] == expected != finals[()]
    config = _config(tmp_path, 'adjust = "yahoo"\n')  # the TOML key does the same
    code, out, _ = _run(capsys, "run", "finbot_bt.broker.strategies:SmaCross", "--data", str(path),
                        "--config", str(config))
    assert code == ExitCode.OK
    assert next(line.split()[2] for line in out.splitlines() if line.startswith("final value")) == expected


def test_run_when_adjust_yahoo_on_file_without_adj_close_then_exit_3(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bt.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2023-01-02,1,2,1,1.5,10\n")
    code, _, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(path), "--adjust", "yahoo")
    assert code == ExitCode.DATA
    assert "needs an 'Adj Close' column" in _one_line_error(err)


def test_run_when_volume_cap_and_no_volume_then_warns_once_per_feed_and_summary_says_so(
        tmp_path: Path, strategy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = sample_path().read_text().splitlines()[:60]
    path = tmp_path / "fx.csv"
    path.write_text("\n".join(",".join([*line.split(",")[:6], "0"]) if i else line
                              for i, line in enumerate(rows)) + "\n")
    config = _config(tmp_path, '[fill]\nvolume_cap = "participation"\nfraction = "0.1"\n')
    code, out, err = _run(capsys, "run", f"{strategy_file}:BuyOnce", "--data", str(path), "--data",
                          str(sample_path()), "--config", str(config))
    assert code == ExitCode.OK
    warned = [line for line in err.splitlines() if line.startswith("finbot-bt: warning: ")]
    assert len(warned) == 1 and "feed 'FX' has volume 0 on all 59 loaded bars" in warned[0]
    assert "warning: feed 'FX' has volume 0" in out  # under the summary table


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

    from finbot_bt.broker.progress import ProgressBar
    from finbot_bt.broker.strategies import SmaCross
    from finbot_bt.runner.backtest import run_backtest, sample_frames

    for delay, drawn in ((0.0, True), (1e9, False)):
        stream = io.StringIO()
        result = run_backtest(SmaCross, sample_frames(), stdstats=False)
        cerebro = result.cerebro
        cerebro.addanalyzer(ProgressBar, total=504, delay=delay, stream=stream)
        cerebro.run()
        assert ("100%" in stream.getvalue()) is drawn
        assert ("504/504" in stream.getvalue()) is drawn  # tqdm's counter


def test_run_backtest_when_progress_default_then_follows_interactivity(monkeypatch: pytest.MonkeyPatch) -> None:
    from finbot_bt.broker.strategies import SmaCross
    from finbot_bt.runner import backtest

    frames = backtest.sample_frames()
    assert "progressbar" not in backtest.run_backtest(SmaCross, frames, stdstats=False).strategy.analyzers.getnames()
    monkeypatch.setattr(backtest, "progress_enabled", lambda: True)  # a terminal or a notebook
    assert "progressbar" in backtest.run_backtest(SmaCross, frames, stdstats=False).strategy.analyzers.getnames()
    assert "progressbar" not in backtest.run_backtest(SmaCross, frames, stdstats=False,
                                                      progress=False).strategy.analyzers.getnames()


def test_progress_enabled_when_not_a_terminal_then_off_and_in_jupyter_then_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import types

    from finbot_bt.broker.progress import in_notebook, progress_enabled

    assert progress_enabled(io.StringIO()) is False  # pytest's captured output is not a terminal
    assert in_notebook() is False

    class ZMQInteractiveShell:
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = ZMQInteractiveShell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() is True
    assert progress_enabled(io.StringIO()) is True
