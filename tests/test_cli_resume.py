"""``finbot-bt run --resume`` and ``resume = true``; checkpoint commands on what FinbotBroker writes."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from finbot_bt.cli import ExitCode, main

DATA = Path(__file__).parents[1] / "finbot_bt" / "data" / "synthetic_daily.csv"
STRATEGY = textwrap.dedent("""
    import backtrader as bt

    class Swing(bt.Strategy):
        def next(self):
            if not self.position and self.data.close[0] > self.data.open[0]:
                self.buy(size=10)
            elif self.position and self.data.close[0] < self.data.open[0]:
                self.close()
""")


def _files(tmp_path: Path, resume_key: bool = False) -> tuple[Path, Path, Path]:
    strategy = tmp_path / "swing.py"
    strategy.write_text(STRATEGY)
    lines = DATA.read_text().splitlines(keepends=True)
    (tmp_path / "part").mkdir(exist_ok=True)
    part = tmp_path / "part" / DATA.name  # same file name: the symbol comes from it
    part.write_text("".join(lines[:121]))  # the first 120 bars
    config = tmp_path / "run.toml"
    config.write_text(f'checkpoint_dir = "{tmp_path / "ck"}"\nsimulator_id = "swing"\ncheckpoint_every = 25\n'
                      + ("resume = true\n" if resume_key else ""))
    return strategy, part, config


def _final_value(out: str) -> str:
    return next(line.split()[2] for line in out.splitlines() if line.startswith("final value"))


@pytest.mark.parametrize("how", ["flag", "toml"])
def test_cli_run_when_resumed_with_full_data_then_same_final_value_as_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    strategy, part, config = _files(tmp_path, resume_key=how == "toml")
    assert main(["run", f"{strategy}:Swing", "--data", str(DATA)]) == ExitCode.OK
    whole = _final_value(capsys.readouterr().out)
    assert main(["run", f"{strategy}:Swing", "--data", str(part), "--config", str(config)]) == ExitCode.OK
    first = _final_value(capsys.readouterr().out)
    assert first != whole
    flag = ["--resume"] if how == "flag" else []
    assert main(["run", f"{strategy}:Swing", "--data", str(DATA), "--config", str(config), *flag]) == ExitCode.OK
    assert _final_value(capsys.readouterr().out) == whole
    assert main(["checkpoints", "verify", str(tmp_path / "ck")]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "0 failed" in out and "journal.jsonl" in out


def test_cli_run_when_session_exists_without_resume_then_exit_6_naming_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy, part, config = _files(tmp_path)
    assert main(["run", f"{strategy}:Swing", "--data", str(part), "--config", str(config)]) == ExitCode.OK
    capsys.readouterr()
    assert main(["run", f"{strategy}:Swing", "--data", str(part), "--config", str(config)]) == ExitCode.CHECKPOINT
    assert "resume" in capsys.readouterr().err


def test_cli_run_when_resume_without_checkpoint_dir_then_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy, part, _ = _files(tmp_path)
    assert main(["run", f"{strategy}:Swing", "--data", str(part), "--resume"]) == ExitCode.USAGE
    assert "checkpoint_dir" in capsys.readouterr().err


def test_cli_run_when_checkpoint_dir_unwritable_then_exit_6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    strategy, part, config = _files(tmp_path)
    blocker = tmp_path / "ck"
    blocker.write_text("a file where the folder should be")
    assert main(["run", f"{strategy}:Swing", "--data", str(part), "--config", str(config)]) == ExitCode.CHECKPOINT
    assert "strategy raised" not in capsys.readouterr().err


def test_cli_checkpoints_show_when_broker_checkpoint_then_readable_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy, part, config = _files(tmp_path)
    main(["run", f"{strategy}:Swing", "--data", str(part), "--config", str(config)])
    capsys.readouterr()
    assert main(["checkpoints", "show", str(tmp_path / "ck")]) == ExitCode.OK
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) < 200
    assert "broker=FinbotBroker state v1:" in out
    cash = next(line for line in out.splitlines() if line.startswith("cash"))
    assert cash.split()[-1].count(".") == 1 and len(cash.split()[-1].split(".")[1]) == 2


def test_cli_checkpoints_list_when_piped_into_head_then_quiet_exit(tmp_path: Path) -> None:
    folder = tmp_path / "ck" / "s"
    folder.mkdir(parents=True)
    for index in range(3000):  # far more than a pipe buffer holds: the writes after head exits fail
        (folder / f"20240101T000000.000000-{index:012d}.json").touch()
    (folder / "LATEST").write_text("20240101T000000.000000-000000002999.json\n")
    done = subprocess.run(f"{sys.executable} -m finbot_bt.cli checkpoints list {tmp_path / 'ck'} | head -2; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert done.stderr == ""


def test_cli_when_stdout_reader_gone_then_exit_0_without_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Gone(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            raise io.UnsupportedOperation("no descriptor")

    strategy, part, config = _files(tmp_path)
    assert main(["run", f"{strategy}:Swing", "--data", str(part), "--config", str(config)]) == ExitCode.OK
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", Gone())
    assert main(["checkpoints", "list", str(tmp_path / "ck")]) == ExitCode.OK
    assert capsys.readouterr().err == ""
