"""Memory: peak RSS of a long core run, and the memory each completed order costs.

Runs N market-order round trips through ``ExecutionSimulator`` (NORMAL latency)
twice in fresh processes: with ``retain_history=False`` and the journal on
(history spilled to disk), and with ``retain_history=True`` (every finished
order kept in memory). Reports peak RSS and bytes per completed order.

Run: python benchmarks/bench_memory.py [--orders N] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from finbot_bt.contracts import Bar, Order, OrderSide, OrderType
from finbot_bt.execution import ExecutionSimulator
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.journal import FlushPolicy, JournalConfig


def child(orders: int, retain: bool, journal_dir: str | None) -> dict[str, Any]:
    sim = ExecutionSimulator(Decimal(10**12), latency="normal", retain_history=retain, simulator_id="mem")
    manager = None
    if journal_dir is not None:
        manager = CheckpointManager(journal_dir)
        manager.open_journal(sim, JournalConfig(flush=FlushPolicy.EVERY_N, every=10_000, fsync=False))
    start = datetime(2020, 1, 1)
    price = Decimal(100)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(orders):
        t = start + timedelta(minutes=i)
        side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
        sim.submit_order(Order(order_id=sim.next_order_id(), symbol="A", side=side,
                               order_type=OrderType.MARKET, quantity=Decimal(1)), t)
        bar_t = t + timedelta(seconds=30)
        sim.process_market_data(bar_t, {"A": Bar(open=price, high=price, low=price, close=price,
                                                  timestamp=bar_t, open_time=t + timedelta(seconds=1))})
    if manager is not None:
        manager.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"orders": orders, "retain_history": retain, "journal": journal_dir is not None,
            "peak_rss_mb": peak / 1024, "baseline_rss_mb": baseline / 1024,
            "bytes_per_order": (peak - baseline) * 1024 / orders,
            "completed": len(sim.orders()) if retain else orders}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 orders")
    parser.add_argument("--json", help="write results to this JSON file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        orders, retain, journal = int(args.child[0]), args.child[1] == "1", args.child[2]
        print(json.dumps(child(orders, retain, None if journal == "-" else journal)))
        return 0
    orders = 2_000 if args.quick else args.orders
    results = []
    with tempfile.TemporaryDirectory(prefix="finbot-mem-") as folder:
        for retain, journal in ((False, folder), (True, "-")):
            out = subprocess.run([sys.executable, __file__, "--child", str(orders), "1" if retain else "0",
                                  journal], capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(result)
            label = "history in memory" if retain else "history to journal"
            print(f"{label:20} {orders:>9,} orders: peak RSS {result['peak_rss_mb']:8.1f} MB, "
                  f"{result['bytes_per_order']:8.1f} bytes per completed order")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
