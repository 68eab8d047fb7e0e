"""Crash recovery: a child process is SIGKILLed at random moments; recovery must always work.

The child (tests/ckpt_scenario.py as a script) journals every event with an
fsync and checkpoints every EVERY steps. After each kill: every checkpoint
file verifies (none is torn), recovery succeeds, the restored state equals a
reference run stopped at the checkpoint's step, the journal is a prefix of
the reference event stream, and re-feeding the remaining inputs to the
recovered simulator completes both the journal and the state exactly.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.journal import read_events
from finbot_bt.execution.recovery import recover
from finbot_bt.execution.snapshot import snapshot_simulator
from tests.ckpt_scenario import SIM_ID, make_bars, make_simulator, run_step

SCRIPT = Path(__file__).with_name("ckpt_scenario.py")
STEPS, EVERY, TRIALS = 150, 5, 24


def _state(sim: Any) -> dict[str, Any]:
    data = snapshot_simulator(sim)
    data.pop("journal")
    return data


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], dict[int, dict[str, Any]], dict[str, Any]]:
    sim = make_simulator(retain_history=False)
    events: list[str] = []
    sim.add_listener(lambda event: events.append(repr(event)))
    states = {0: _state(sim)}
    for index, step in enumerate(make_bars(STEPS)):
        run_step(sim, index, step)
        if (index + 1) % EVERY == 0:
            states[index + 1] = _state(sim)
    return events, states, _state(sim)


def _kill_at_random(base: str, after_step: int, delay: float) -> bool:
    """Kill the child ``delay`` seconds after it reports step ``after_step`` (or let it finish).

    Aiming at a step keeps the kills spread over the run whatever the machine's
    speed; the extra random delay lands them at any point inside the next step,
    writes and fsyncs included.
    """
    child = subprocess.Popen([sys.executable, str(SCRIPT), base, str(STEPS), str(EVERY)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    child.stdout.readline()  # "ready": imports done, the run starts
    for line in child.stdout:
        if line.strip() in (f"step {after_step}".encode(), b"done"):
            break
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    _, err = child.communicate()
    assert child.returncode in (-signal.SIGKILL, 0), err.decode()
    return child.returncode == 0


def test_recover_when_child_killed_at_random_moments_then_state_matches_reference(
    reference: tuple[list[str], dict[int, dict[str, Any]], dict[str, Any]], fast_dir: Path,
) -> None:
    events, states, final = reference
    bars = make_bars(STEPS)
    rng = random.Random(2024)
    plan = [(str(fast_dir / f"trial{trial}"), rng.randrange(-1, STEPS + 5), rng.uniform(0.0, 0.004)) for trial in range(TRIALS)]
    with ThreadPoolExecutor(max_workers=4) as pool:  # children run side by side to keep the test short
        list(pool.map(lambda item: _kill_at_random(*item), plan))
    recovered_mid_run = 0
    for trial, (base, _, _) in enumerate(plan):
        manager = CheckpointManager(base)
        files = manager.list_checkpoints(SIM_ID)
        if not files:
            continue  # killed before the first checkpoint: nothing to recover
        for info in files:
            manager.verify(info.path)  # no torn checkpoint, ever
        recovery = recover(base, SIM_ID)
        step = recovery.checkpoint.metadata["next_step"]
        assert isinstance(step, int)
        assert _state(recovery.simulator) == states[step], f"trial {trial}"
        journal = read_events(manager.journal_path(SIM_ID))
        assert [repr(e) for e in journal.events] == events[: len(journal.events)], f"trial {trial}"
        assert journal.end.sequence == recovery.last_sequence
        recovered_mid_run += step < STEPS
        second = CheckpointManager(base)
        second.open_journal(recovery.simulator, expect=recovery.tail)
        for index in range(step, STEPS):
            run_step(recovery.simulator, index, bars[index])
        second.close()
        assert _state(recovery.simulator) == final, f"trial {trial}"
        assert [repr(e) for e in read_events(manager.journal_path(SIM_ID)).events] == events
    # Kills aimed before the last checkpoint must be recovered mid-run (all but a few of the plan).
    aimed_mid_run = sum(1 for _, step, _ in plan if step < STEPS - 2 * EVERY)
    assert recovered_mid_run >= aimed_mid_run - 2 >= TRIALS // 2
