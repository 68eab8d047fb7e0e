"""Paper-trading sessions killed at random moments resume exactly (FinbotBroker, resume=True).

Each chain runs one session in forked children (no re-import, so dozens of
kills stay fast). A child counts its journal appends (``os.write``), fsyncs
(of journal lines, checkpoint temp files and folders) and renames
(``os.replace``: the checkpoint and ``LATEST`` commits) and SIGKILLs itself
at a seeded random one of a chosen kind; at an append it first writes a
random part of the line, so torn lines happen too. The next child resumes
the same folder. Every resume must succeed, and the notifications of the
chain (each child's up to the bar its successor resumed after) and the final
book must equal one uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.broker.state_schema import validate_broker_state
from finbot_bt.execution.checkpoint import CheckpointManager
from tests.bt_harness import make_ohlcv, same
from tests.test_broker_resume import BarRule, _book

FRAME = make_ohlcv(45, seed=17)
SIM = "crash"
CHAINS, KILLS_PER_CHAIN = 6, 4
KINDS = ("write", "fsync", "replace")
BROKER = dict(latency="fast", simulator_id=SIM, checkpoint_every=4, resume=True)


class _Counter:
    """Kills the process at its ``kill_at``-th call of ``kind`` (write, fsync or replace); counts calls."""

    def __init__(self, kind: str, kill_at: int, rng: random.Random) -> None:
        self.kind, self.kill_at, self.rng = kind, kill_at, rng
        self.counts = dict.fromkeys(KINDS, 0)
        self.write, self.fsync, self.replace = os.write, os.fsync, os.replace

    def _tick(self, kind: str) -> bool:
        self.counts[kind] += 1
        return kind == self.kind and self.counts[kind] == self.kill_at

    def install(self) -> None:
        def write(fd: int, data: Any) -> int:
            if self._tick("write"):
                part = bytes(data)[: self.rng.randrange(len(data) + 1)]
                self.write(fd, part)  # a torn journal line
                os.kill(os.getpid(), signal.SIGKILL)
            return self.write(fd, data)

        def guard(kind: str, real: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any) -> Any:
                if self._tick(kind):
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(*args)
            return call

        os.write = write  # type: ignore[assignment]
        os.fsync = guard("fsync", self.fsync)  # type: ignore[assignment]
        os.replace = guard("replace", self.replace)  # type: ignore[assignment]


def _session(folder: Path, log_path: Path | None = None) -> tuple[list[Any], FinbotBroker]:
    class Logged(BarRule):
        def notify_order(self, order: Any) -> None:
            super().notify_order(order)
            self._write()

        def notify_trade(self, trade: Any) -> None:
            super().notify_trade(trade)
            self._write()

        def _write(self) -> None:
            if log_path is not None:
                with log_path.open("a") as fh:
                    fh.write(json.dumps(self.log[-1]) + "\n")

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=FRAME, name="A"))
    broker = FinbotBroker(checkpoint_dir=folder, **BROKER)
    cerebro.setbroker(broker)
    cerebro.addstrategy(Logged)
    cerebro.broker.setcommission(commission=0.001)
    return cerebro.run()[0].log, broker


def _child(folder: Path, log: Path, kind: str, kill_at: int, seed: int) -> int:
    """Run one session in a forked child; return its wait status (0: finished; SIGKILL: killed)."""
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 0
        try:
            _Counter(kind, kill_at, random.Random(seed)).install()
            _, broker = _session(folder, log)
            with log.open("a") as fh:
                fh.write("BOOK " + json.dumps(_book(broker)) + "\n")
        except BaseException as exc:
            with log.open("a") as fh:
                fh.write(f"ERROR {type(exc).__name__}: {exc}\n")
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def _resume_point(folder: Path) -> str | None:
    manager = CheckpointManager(folder)
    if not manager.list_checkpoints(SIM):
        return None
    state = validate_broker_state(manager.load_checkpoint(SIM).metadata.get("broker"))
    return max(state.last_bar_times.values()).replace(" ", "T")


def _entries(log: Path) -> tuple[list[Any], Any, str | None]:
    entries, book, error = [], None, None
    for line in (log.read_text() if log.exists() else "").splitlines():
        if line.startswith("BOOK "):
            book = json.loads(line[5:])
        elif line.startswith("ERROR "):
            error = line
        else:
            try:
                entries.append(tuple(json.loads(line)))
            except ValueError:
                continue  # cut by the kill
    return entries, book, error


def _ops_of_one_run(folder: Path) -> dict[str, int]:
    counter = _Counter("write", 0, random.Random(0))
    saved = os.write, os.fsync, os.replace
    counter.install()
    try:
        _session(folder)
    finally:
        os.write, os.fsync, os.replace = saved  # type: ignore[assignment]
    return counter.counts


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_broker_resume_when_killed_at_random_writes_then_every_resume_matches_uninterrupted_run(
        fast_dir: Path) -> None:
    root = fast_dir
    whole, reference = _session(root / "reference")
    book = json.loads(json.dumps(_book(reference)))
    totals = _ops_of_one_run(root / "count")
    assert totals["write"] > 50 and totals["replace"] > 10  # journal appends; checkpoint and LATEST renames
    rng = random.Random(20261129)
    kills = resumes = 0
    killed_in: dict[str, int] = dict.fromkeys(KINDS, 0)
    for chain in range(CHAINS):
        folder = root / f"chain{chain}"
        pieces: list[list[Any]] = []
        final: tuple[list[Any], Any] | None = None
        for attempt in range(KILLS_PER_CHAIN + 1):
            log = folder.parent / f"chain{chain}-{attempt}.log"
            point = _resume_point(folder) if folder.exists() else None
            last = attempt == KILLS_PER_CHAIN
            # Aim within the first quarter of a run's calls of that kind so the kill lands in this child
            # (a resumed child has fewer calls left); the chain still moves through the whole run.
            kind = KINDS[(chain + attempt) % len(KINDS)]
            kill_at = 0 if last else rng.randint(1, max(1, totals[kind] // 4))
            status = _child(folder, log, kind, kill_at, rng.randrange(2**32))
            entries, child_book, error = _entries(log)
            assert error is None, f"chain {chain} attempt {attempt}: {error}"
            if attempt:
                resumes += 1
            if pieces:
                # The previous child's notifications count up to the bar this child resumed after.
                pieces[-1] = [e for e in pieces[-1] if point is not None and e[0] <= point]
            pieces.append(entries)
            if os.WIFSIGNALED(status):
                assert os.WTERMSIG(status) == signal.SIGKILL
                kills += 1
                killed_in[kind] += 1
            else:
                assert os.WEXITSTATUS(status) == 0
                final = (entries, child_book)
                if last:
                    break
        assert final is not None
        joined = [entry for piece in pieces for entry in piece]
        mismatch = next(((i, a, b) for i, (a, b) in enumerate(zip(joined, whole, strict=False))
                         if not same(a, b)), None)
        assert mismatch is None and len(joined) == len(whole), f"chain {chain}: {mismatch}"
        assert same(final[1], book), f"chain {chain}"
    print(f"kills {kills} ({killed_in}), resumes {resumes}, all equal to the uninterrupted run")
    assert kills >= 24, killed_in
    assert all(killed_in[kind] >= 4 for kind in KINDS), killed_in
    assert resumes == CHAINS * KILLS_PER_CHAIN
