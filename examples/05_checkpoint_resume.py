"""Checkpoint and resume across two processes, with the engine-level simulator.

Process 1 feeds the first half of the bundled bars to an ``ExecutionSimulator``
(NORMAL latency, a volume cap, a simple trend rule), saves a checkpoint with
``CheckpointManager`` and exits. Process 2 restores the latest checkpoint and
feeds the second half. The result equals an uninterrupted run exactly.
Inspect the folder afterwards with ``finbot-bt checkpoints list|show|verify DIR``.

Run: python examples/05_checkpoint_resume.py [DIR]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path

from finbot_bt.contracts.enums import OrderSide, OrderType
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.data import SAMPLE_SYMBOL, sample_path
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.fills import FillConfig, ParticipationCap
from finbot_bt.execution.simulator import ExecutionSimulator
from finbot_bt.runner.loading import load_ohlcv

SYMBOL = SAMPLE_SYMBOL
SPLIT = 250
SIMULATOR_ID = "trend-demo"


def load_bars() -> list[Bar]:
    frame = load_ohlcv(sample_path())
    bars = []
    for day, row in frame.iterrows():
        bars.append(Bar(open=Decimal(str(row.open)), high=Decimal(str(row.high)), low=Decimal(str(row.low)),
                        close=Decimal(str(row.close)), volume=Decimal(int(row.volume)),
                        open_time=datetime.combine(day.date(), time(9, 30)),
                        timestamp=datetime.combine(day.date(), time(16, 0))))
    return bars


def new_simulator() -> ExecutionSimulator:
    return ExecutionSimulator(Decimal(100_000), latency="normal", seed=3, simulator_id=SIMULATOR_ID,
                              fill=FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.05"))))


def step(sim: ExecutionSimulator, bars: list[Bar], index: int) -> None:
    """Feed bar ``index``, then trade on a 20-bar moving average of the closes so far."""
    bar = bars[index]
    sim.process_market_data(bar.timestamp, {SYMBOL: bar})
    window = [b.close for b in bars[max(0, index - 19): index + 1]]
    average = sum(window) / len(window)
    position = sim.get_position(SYMBOL).quantity
    if sim.open_orders(SYMBOL) or index < 19:
        return
    if position == 0 and bar.close > average:
        side, quantity = OrderSide.BUY, Decimal(900)
    elif position > 0 and bar.close < average:
        side, quantity = OrderSide.SELL, position
    else:
        return
    sim.submit_order(Order(order_id=sim.next_order_id(), symbol=SYMBOL, side=side,
                           order_type=OrderType.MARKET, quantity=quantity), bar.timestamp)


def state(sim: ExecutionSimulator) -> dict[str, str]:
    """Exact figures (Decimal strings) to compare, rounded ones to print."""
    return {"cash": str(sim.cash), "position": str(sim.get_position(SYMBOL).quantity),
            "open_orders": str(len(sim.open_orders())), "value": str(sim.get_account_value())}


def cents(text: str) -> str:
    return f"{Decimal(text).quantize(Decimal('0.01')):,}"


def first(folder: Path) -> None:
    bars, sim = load_bars(), new_simulator()
    for index in range(SPLIT):
        step(sim, bars, index)
    path = CheckpointManager(folder).checkpoint(sim, metadata={"next_bar": SPLIT})
    print(json.dumps({"checkpoint": str(path), **state(sim)}))


def second(folder: Path) -> None:
    bars, manager = load_bars(), CheckpointManager(folder)
    checkpoint = manager.load_checkpoint(SIMULATOR_ID)
    sim = manager.restore_simulator(checkpoint)
    start = int(str(checkpoint.metadata["next_bar"]))
    for index in range(start, len(bars)):
        step(sim, bars, index)
    print(json.dumps(state(sim)))


def child(phase: str, folder: Path) -> dict[str, str]:
    done = subprocess.run([sys.executable, __file__, phase, str(folder)], capture_output=True, text=True,
                          check=True)
    result: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(scratch)
        saved = child("first", folder)
        print(f"process 1: {SPLIT} bars, checkpoint {Path(saved['checkpoint']).name}")
        print(f"           cash {cents(saved['cash'])}, position {saved['position']}, open orders {saved['open_orders']}")
        resumed = child("second", folder)
        print(f"process 2: resumed -> cash {cents(resumed['cash'])}, position {resumed['position']}, "
              f"value {cents(resumed['value'])}")
        bars, sim = load_bars(), new_simulator()
        for index in range(len(bars)):
            step(sim, bars, index)
        reference = state(sim)
        print(f"one process:           cash {cents(reference['cash'])}, position {reference['position']}, "
              f"value {cents(reference['value'])}")
        print("identical (exact Decimal state)" if resumed == reference else "DIFFERENT")
        if resumed != reference:
            sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("first", "second"):
        {"first": first, "second": second}[sys.argv[1]](Path(sys.argv[2]))
    else:
        main()
