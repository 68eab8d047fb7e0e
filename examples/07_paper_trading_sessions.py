"""Paper trading in daily sessions: stop after day N, resume the next day in a new process.

Each session is a separate Python process running cerebro with
``FinbotBroker(checkpoint_dir=..., simulator_id=..., resume=True)`` on that
session's bars only. The broker saves a checkpoint when the run stops and the
next session starts from it: cash, positions, the orders still working (they
fill later and notify the strategy), and notifications not yet delivered.
The three sessions end with the same book and the same order notifications
as one uninterrupted run.

Then a crash: a session checkpointing every 50 bars is SIGKILLed at bar 250.
The next run, fed the whole history again with ``resume=True``, skips the
bars the latest checkpoint processed, replays the journal after it (each
re-emitted event checked against the journal) and finishes with the same
book and notifications as the uninterrupted run.

Run: python examples/07_paper_trading_sessions.py [DIR]
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import backtrader as bt
import pandas as pd

from finbot_bt import FinbotBroker
from finbot_bt.data import sample_path
from finbot_bt.execution.checkpoint import CheckpointManager

KILL_AT_BAR = 250


class Breakout(bt.Strategy):
    """Decides from the current bar and the position only, so sessions can be cut anywhere."""

    params = (("kill_at", 0),)  # the crash demo: the process dies (SIGKILL, no clean-up) at this bar

    def __init__(self):
        self.notifications = []

    def notify_order(self, order):
        self.notifications.append([self.data.datetime.date(0).isoformat(), order.getstatusname(),
                                   order.ordtypename(), order.executed.size, round(order.executed.price, 4)])

    def next(self):
        if len(self) == self.p.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        bar_range = self.data.high[0] - self.data.low[0]
        close = self.data.close[0]
        if not self.position and not self.broker.get_orders_open() \
                and close > self.data.open[0] + 0.5 * bar_range:
            # A bracket: market entry, a protective stop and a take-profit that cancel each other.
            self.buy_bracket(size=200, exectype=bt.Order.Market, stopprice=round(close * 0.97, 2),
                             limitprice=round(close * 1.04, 2))


def frame():
    data = pd.read_csv(sample_path(), parse_dates=["Date"], index_col="Date")
    data = data.rename(columns=str.lower).drop(columns=["adj close"])
    return data


def session(start, stop, checkpoint_dir, kill_at=0, **extra):
    """One trading session over bars [start, stop); returns its notifications and the book."""
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame().iloc[start:stop], name="SYNTH"))
    cerebro.addstrategy(Breakout, kill_at=kill_at)
    kwargs = {"latency": "normal", "cash": 100_000.0, "simulator_id": "paper", **extra}
    if checkpoint_dir is not None:
        kwargs.update(checkpoint_dir=checkpoint_dir, resume=True)
    broker = FinbotBroker(**kwargs)
    cerebro.setbroker(broker)
    strategy = cerebro.run()[0]
    book = {"cash": round(broker.getcash(), 6), "value": round(broker.getvalue(), 6),
            "position": broker.getposition(cerebro.datas[0]).size,
            "open_orders": len(broker.get_orders_open())}
    return {"notifications": strategy.notifications, "book": book}


def crash_and_resume(folder, whole):
    """Kill a session at bar KILL_AT_BAR, resume on the whole history; True if it ends as one run."""
    killed = subprocess.run([sys.executable, __file__, "crash", str(folder)], capture_output=True, text=True)
    print(f"crashing session: killed by signal {-killed.returncode} at bar {KILL_AT_BAR}")
    checkpoint = CheckpointManager(folder).load_checkpoint("paper")
    resumed_after = max(checkpoint.metadata["broker"]["last_bar_times"].values())[:10]
    out = subprocess.run([sys.executable, __file__, "resume", str(folder)], capture_output=True, text=True,
                         check=True)
    resumed = json.loads(out.stdout.strip().splitlines()[-1])
    expected = [n for n in whole["notifications"] if n[0] > resumed_after]
    same = resumed["notifications"] == expected and resumed["book"] == whole["book"]
    print(f"resumed after {resumed_after} (latest checkpoint + journal): "
          f"{len(resumed['notifications'])} notifications, book {resumed['book']}")
    print("the crashed-and-resumed run matches the uninterrupted run" if same else "CRASH RESUME MISMATCH")
    return same


if __name__ == "__main__":
    if len(sys.argv) == 4:  # a child session: start stop checkpoint_dir
        print(json.dumps(session(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] in ("crash", "resume"):  # the crash demo's children
        kill_at = KILL_AT_BAR if sys.argv[1] == "crash" else 0
        print(json.dumps(session(0, len(frame()), sys.argv[2], kill_at, checkpoint_every=50)))
        sys.exit(0)
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="finbot-paper-"))
    cuts = [(0, 180), (180, 333), (333, len(frame()))]
    sessions = []
    for start, stop in cuts:
        out = subprocess.run([sys.executable, __file__, str(start), str(stop), str(folder)],
                             capture_output=True, text=True, check=True)
        sessions.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"session bars {start:3}-{stop:3}: {len(sessions[-1]['notifications']):3} notifications, "
              f"book {sessions[-1]['book']}")
    whole = json.loads(json.dumps(session(0, len(frame()), None)))
    joined = [n for s in sessions for n in s["notifications"]]
    same = joined == whole["notifications"] and sessions[-1]["book"] == whole["book"]
    print(f"one uninterrupted run:       {len(whole['notifications']):3} notifications, book {whole['book']}")
    print("sessions and the uninterrupted run are identical" if same else "MISMATCH")
    print(f"checkpoints and journal in {folder / 'paper'}")
    crash_ok = crash_and_resume(folder / "crash", whole)
    sys.exit(0 if same and crash_ok else 1)
