"""Regression backtests: the project's own suite, drift detection with readable diffs, --update."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finbot_bt.cli import ExitCode, main
from finbot_bt.errors import ConfigError
from finbot_bt.regress import Tolerance, load_suite, run_suite
from finbot_bt.regress.compare import first_difference

SUITE = Path(__file__).resolve().parents[1] / "regress" / "suite.toml"


def copy_suite(folder: Path) -> Path:
    shutil.copytree(SUITE.parent, folder / "regress")
    return folder / "regress" / "suite.toml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_project_suite_when_run_then_every_run_matches_its_golden() -> None:
    report = run_suite(SUITE)
    assert report.ok, report.format()
    assert [o.name for o in report.outcomes] == ["sma_default", "sma_realistic", "sma_risk", "pullback_two_feeds"]


def test_regress_when_candidate_latency_and_commission_change_then_drift_exits_nonzero_with_diff(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = copy_suite(tmp_path)
    edit(suite, 'latency = "normal"', 'latency = "slow"')
    edit(suite, 'rate = "0.001"', 'rate = "0.002"')
    code = main(["regress", str(suite)])
    out = capsys.readouterr().out
    assert code == ExitCode.REGRESSION
    assert "OK       sma_default" in out
    assert "DRIFT    sma_realistic" in out
    assert "final_value: expected 114532.0994, got " in out
    assert "metrics.commission: expected 752.5008949, got " in out
    assert "metrics.median_latency_seconds: expected 0.1852925, got " in out
    assert "first differing fill (timestamp, order_id, symbol, side, quantity, price, commission)" in out
    assert "#0: expected (2022-03-15T09:30:00, finbot-1, SYNTHETIC_DAILY, buy, 503, 98.739345, 49.665890535)" in out
    assert "got      (2022-03-15T09:30:00, finbot-1, SYNTHETIC_DAILY, buy, 503, 98.739345, 99.331781070)" in out
    assert "config: expected {" in out and "'latency': 'normal'" in out
    assert "regress: 4 run(s), 1 failed" in out


def test_regress_when_updated_then_goldens_rewritten_and_suite_passes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = copy_suite(tmp_path)
    edit(suite, "max_order_quantity = 900", "max_order_quantity = 400")
    assert main(["regress", str(suite), "--run", "sma_risk"]) == ExitCode.REGRESSION
    assert "metrics.rejected_risk_order_size: expected 10" in capsys.readouterr().out
    assert main(["regress", str(suite), "--update", "--run", "sma_risk"]) == ExitCode.OK
    assert main(["regress", str(suite)]) == ExitCode.OK
    assert "UPDATED" in capsys.readouterr().out


def test_regress_when_suite_with_file_strategy_moves_then_goldens_still_match(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    suite = copy_suite(tmp_path / "here")
    (suite.parent / "strategies").mkdir()
    (suite.parent / "strategies" / "local.py").write_text(
        "from finbot_bt.broker.strategies import SmaCross\n\n\nclass Local(SmaCross):\n    pass\n")
    suite.write_text(suite.read_text() + '\n[[run]]\nname = "local_file"\nstrategy = "strategies/local.py:Local"\n'
                     'params = { fast = 5, slow = 20 }\ndata = ["data/walk_a.csv"]\n')
    assert main(["regress", str(suite), "--update", "--run", "local_file"]) == ExitCode.OK
    stored = json.loads((suite.parent / "goldens" / "local_file.json").read_text())["config"]
    assert stored["strategy"] == "strategies/local.py:Local"  # relative to the suite file, not absolute
    assert stored["data_paths"] == ["data/walk_a.csv"]
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(suite.parent, moved)
    capsys.readouterr()
    assert main(["regress", str(moved / "suite.toml")]) == ExitCode.OK, capsys.readouterr().out


def test_regress_when_golden_missing_then_fails_and_says_how_to_create_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = copy_suite(tmp_path)
    (suite.parent / "goldens" / "sma_default.json").unlink()
    assert main(["regress", str(suite), "--run", "sma_default"]) == ExitCode.REGRESSION
    assert "create it with --update" in capsys.readouterr().out


def test_suite_when_key_unknown_then_config_error_names_it(tmp_path: Path) -> None:
    suite = copy_suite(tmp_path)
    edit(suite, "seed = 7", "seed = 7\nsed = 8")
    with pytest.raises(ConfigError, match=r"unknown key 'run\.1\.sed'; did you mean 'seed'\?"):
        load_suite(suite)
    edit(suite, "seed = 7\nsed = 8", 'seed = "7"')
    with pytest.raises(ConfigError, match=r"run\.1\.seed: Input should be a valid integer"):
        load_suite(suite)


@pytest.mark.parametrize(("tolerance", "expected", "got", "allowed"), [
    (Tolerance(), 1.0, 1.0, True),
    (Tolerance(), 1.0, 1.0 + 1e-12, False),
    (Tolerance(abs=0.01), 100.0, 100.009, True),
    (Tolerance(abs=0.01), 100.0, 100.02, False),
    (Tolerance(rel=1e-3), 1000.0, 1000.9, True),
    (Tolerance(abs=1.0), None, None, True),
    (Tolerance(abs=1.0), None, 0.0, False),
], ids=["exact", "exact-miss", "abs", "abs-miss", "rel", "nan-nan", "nan-number"])
def test_tolerance_when_compared_then_abs_or_rel_bound(tolerance: Tolerance, expected: float | None,
                                                       got: float | None, allowed: bool) -> None:
    assert tolerance.allows(expected, got) is allowed


def test_first_difference_when_lists_differ_then_names_index_and_both_rows() -> None:
    assert first_difference([["a", "1"], ["b", "2"]], [["a", "1"], ["b", "3"]]).startswith(
        "#1: expected (b, 2)")
    assert "got nothing" in first_difference([["a"], ["b"]], [["a"]])
    assert "expected nothing, got (c)" in first_difference([["a"]], [["a"], ["c"]])
