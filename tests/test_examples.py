"""Every script in examples/ runs to completion (they are started together, in parallel)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))
TIMEOUT = 120
EXPECTED = {
    "01_drop_in_switch.py": "FinbotBroker(normal)",
    "02_latency_profiles.py": "median latency",
    "03_partial_fills.py": "partial",
    "04_risk_and_kill_switch.py": "risk_trading_disabled",
    "05_checkpoint_resume.py": "identical",
    "06_parameter_sweep.py": "best:",
    "07_paper_trading_sessions.py": "sessions and the uninterrupted run are identical",
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("examples")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    running = {path.name: subprocess.Popen([sys.executable, str(path)], cwd=cwd, env=env, text=True,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE) for path in EXAMPLES}
    done = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=TIMEOUT)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


def test_examples_when_listed_then_every_script_has_an_expectation() -> None:
    assert sorted(EXPECTED) == [path.name for path in EXAMPLES]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_when_run_then_exits_0_and_prints_result(
        name: str, outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = outcomes[name]
    assert result.returncode == 0, result.stderr[-2000:]
    assert EXPECTED[name] in result.stdout
    assert "Traceback" not in result.stderr


def test_examples_and_notebooks_when_read_then_use_the_public_broker_api_not_sim() -> None:
    notebooks = sorted((EXAMPLES[0].parent.parent / "notebooks").glob("*.ipynb"))
    assert notebooks and EXAMPLES
    for path in [*EXAMPLES, *notebooks]:
        assert ".sim." not in path.read_text(), f"{path.name} reaches into broker.sim"
