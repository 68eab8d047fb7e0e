"""Checkpoint benchmark: save/restore time and size after 1,000,000 completed orders, journal cost.

Runs a simulator with ``retain_history=False`` and the journal on (flushed
every 10,000 events) through ``--orders`` completed market orders (1,000 a
bar), leaves 100 limit orders open, then times ``create_checkpoint`` +
``save_checkpoint`` and ``load_checkpoint`` + ``restore_simulator`` (median
of 25 runs each) and reports the file size. Then measures the journal's cost
per event under each flush policy. It also reports the journal's segments, the
recovery time (latest checkpoint plus tail) and the journal kept after
compaction. Targets: save and restore < 50 ms each,
file < 1 MB.

Usage: ``python benchmarks/bench_checkpoint.py [--orders 1000000] [--dir PATH]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finbot_bt.contracts import Order, OrderSide, OrderType
from finbot_bt.execution import ExecutionSimulator
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.journal import FlushPolicy, JournalConfig, Retention
from finbot_bt.execution.journal_lines import list_segments
from finbot_bt.execution.journal_writer import JournalWriter
from finbot_bt.execution.recovery import recover

T0 = datetime(2024, 1, 2, 9, 30)
SEGMENT = 64 * 1024 * 1024
PRICE = Decimal("100")


def _order(sim: ExecutionSimulator, side: OrderSide, kind: OrderType, limit: Decimal | None = None) -> Order:
    return Order(order_id=sim.next_order_id(), symbol="SPY", side=side, order_type=kind,
                 quantity=Decimal(1), limit_price=limit)


def build(base: Path, orders: int, per_bar: int = 1000) -> tuple[CheckpointManager, ExecutionSimulator, float]:
    manager = CheckpointManager(base, keep_last=3)
    sim = ExecutionSimulator(Decimal("100000000"), latency="normal", retain_history=False, simulator_id="bench")
    manager.open_journal(sim, JournalConfig(flush=FlushPolicy.EVERY_N, every=10_000, segment_bytes=SEGMENT))
    started = time.perf_counter()
    t = T0
    done = 0
    while done < orders:
        t += timedelta(seconds=1)
        sim.process_market_data(t, {"SPY": PRICE})
        for i in range(min(per_bar, orders - done)):
            side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
            sim.submit_order(_order(sim, side, OrderType.MARKET), t + timedelta(microseconds=i))
        done += per_bar
    for _ in range(2):
        t += timedelta(seconds=1)
        sim.process_market_data(t, {"SPY": PRICE})
    for i in range(100):
        sim.submit_order(_order(sim, OrderSide.BUY, OrderType.LIMIT, Decimal("50") + Decimal(i) / 100),
                         t + timedelta(microseconds=i))
    sim.advance_time(t + timedelta(seconds=1))
    return manager, sim, time.perf_counter() - started


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_checkpoint(manager: CheckpointManager, sim: ExecutionSimulator, runs: int = 25) -> None:
    save, load = [], []
    path = None
    for _ in range(runs):
        start = time.perf_counter()
        path = manager.save_checkpoint(manager.create_checkpoint(sim))
        save.append(time.perf_counter() - start)
    for _ in range(runs):
        start = time.perf_counter()
        restored = manager.restore_simulator(manager.load_checkpoint(sim.simulator_id))
        load.append(time.perf_counter() - start)
    assert path is not None
    assert len(restored.open_orders()) == 100
    print(f"open orders: {len(sim.open_orders())}, completed orders: {sim.book.order_counter - 100:,}, "
          f"events: {sim.events.sequence:,}")
    print(f"save (create + write, fsync): median {_median_ms(save):.1f} ms, max {max(save) * 1000:.1f} ms")
    print(f"restore (load + restore):     median {_median_ms(load):.1f} ms, max {max(load) * 1000:.1f} ms")
    print(f"checkpoint file: {path.stat().st_size:,} bytes")
    segments = list_segments(manager.simulator_dir(sim.simulator_id))
    total = sum(p.stat().st_size for p in segments)
    print(f"journal: {total:,} bytes in {len(segments)} segment(s) of <= {SEGMENT // 2**20} MiB "
          f"({total / max(1, sim.events.sequence):.0f} bytes/event)")
    start = time.perf_counter()
    recovery = recover(manager.base_dir, sim.simulator_id, manager=manager)
    print(f"recover (latest checkpoint + journal tail of {len(recovery.events)} events): "
          f"{(time.perf_counter() - start) * 1000:.1f} ms")
    removed = manager.compact_journal(sim.simulator_id, Retention.DELETE)
    kept = sum(p.stat().st_size for p in list_segments(manager.simulator_dir(sim.simulator_id)))
    print(f"after compaction (segments before the oldest of {manager.keep_last} kept checkpoints deleted): "
          f"{len(removed)} segment(s) removed, {kept:,} journal bytes kept")


def bench_journal(base: Path, events: int = 20_000) -> None:
    sim = ExecutionSimulator(Decimal("100000000"), simulator_id="jbench")
    captured = []
    sim.add_listener(captured.append)
    t = T0
    while len(captured) < events:
        t += timedelta(seconds=1)
        sim.process_market_data(t, {"SPY": PRICE})
        for i in range(100):
            sim.submit_order(_order(sim, OrderSide.BUY if i % 2 else OrderSide.SELL, OrderType.MARKET),
                             t + timedelta(microseconds=i))
    captured = captured[:events]
    for label, config, count in (
        ("every event, fsync", JournalConfig(flush=FlushPolicy.EVERY_EVENT), 2000),
        ("every event, no fsync", JournalConfig(flush=FlushPolicy.EVERY_EVENT, fsync=False), events),
        ("every 1000 events, fsync", JournalConfig(flush=FlushPolicy.EVERY_N, every=1000), events),
        ("on checkpoint only", JournalConfig(flush=FlushPolicy.ON_CHECKPOINT), events),
    ):
        folder = base / label.replace(" ", "_").replace(",", "")
        folder.mkdir()
        path = folder / "journal.jsonl"
        writer = JournalWriter(path, config)
        start = time.perf_counter()
        for event in captured[:count]:
            writer.record(event)
        writer.flush()
        elapsed = time.perf_counter() - start
        print(f"journal, {label:<26}: {elapsed / count * 1e6:8.1f} us/event ({count:,} events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="finbot-bench-"))
    try:
        manager, sim, seconds = build(base, args.orders)
        print(f"built in {seconds:.1f} s ({args.orders / seconds:,.0f} orders/s with the journal on)")
        bench_checkpoint(manager, sim)
        manager.close()
        bench_journal(base)
    finally:
        if args.dir is None:  # the journal of a 1M-order run is about 2.5 GB: do not leave it behind
            shutil.rmtree(base, ignore_errors=True)
    if args.dir is not None:
        print(f"files in {base}")


if __name__ == "__main__":
    main()
