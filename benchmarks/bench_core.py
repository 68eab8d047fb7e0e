"""Core benchmarks of the execution simulator (a script, not a test).

Run from the repository root::

    python benchmarks/bench_core.py            # full sizes (about a minute)
    python benchmarks/bench_core.py --quick    # smoke run with tiny sizes
    python benchmarks/bench_core.py --json results/bench_core.json

Measures, on one core:

1. ``round_trips``: submit -> fill round trips through ``ExecutionSimulator``
   alone, through the public calls (``api``) and the way an adapter drives it
   (``records``: events reach a record listener unbuilt). The issue's configuration is the NORMAL latency profile with every
   risk rule on (position, exposure, drawdown, order size, rate limit, all
   sized never to refuse); NORMAL without risk and instant without risk (what
   ``FinbotBroker()`` runs) are measured too. Each bar opens one second after
   the previous bar closed, so an order submitted at a bar's close reaches the
   venue (50 ms) before the next bar opens and fills at its open; the fill
   report (100-200 ms) reaches the account inside that bar. Variants with one
   and with ten orders per bar. Reports round trips/s and events/s.
2. ``queue``: ``PendingActionQueue`` steady-state push + pop at 1e3, 1e5 and
   1e6 pending actions, in ns per push+pop pair, and the ratio 1e6 / 1e3
   (target <= 2); for actions in due order per kind (what the simulator's
   forward clock and latency legs produce) and in random order (worst case).
3. ``resting``: cost of one ``process_market_data`` call with 10, 100 and 1000
   resting limit orders far from the market (they cannot fill), in
   microseconds per bar. Sublinear growth means resting orders are indexed.

Timings are the best of ``--repeat`` runs (the least disturbed one).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from finbot_bt.contracts.enums import OrderSide, OrderType
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.risk import RiskConfig
from finbot_bt.execution.queue import ActionKind, PendingActionQueue
from finbot_bt.execution.simulator import ExecutionSimulator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_risk import ALL_RULES  # a sibling script, found through the path set above

START = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
BAR = timedelta(minutes=1)
GAP = timedelta(seconds=1)
ROUND_TRIP_TARGET_ISSUE_2 = 50_000
ROUND_TRIP_TARGET_ISSUE_6 = 100_000
QUEUE_RATIO_TARGET = 2.0


def _best(repeat: int, run: Callable[[], float]) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        best = min(best, run())
    return best


class _EventCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: object) -> None:
        self.count += 1

    def record(self, event_type: type[Any], sequence: int, working: Any, fields: dict[str, Any]) -> None:
        self.count += 1


def _bars(count: int) -> list[tuple[datetime, Bar]]:
    rng = random.Random(7)
    out = []
    price = Decimal("100.00")
    t = START
    for _ in range(count):
        close_time = t + BAR
        step = Decimal(rng.randint(-20, 20)) / 100
        open_ = price
        close = max(Decimal("1.00"), price + step)
        high = max(open_, close) + Decimal("0.05")
        low = min(open_, close) - Decimal("0.05")
        out.append((close_time, Bar(open=open_, high=high, low=low, close=close, volume=Decimal(10_000),
                                    timestamp=close_time, open_time=t + GAP)))
        price = close
        t = close_time
    return out


def bench_round_trips(bars: int, orders_per_bar: int, repeat: int, latency: str = "normal",
                      risk: RiskConfig | None = None, path: str = "api") -> dict[str, Any]:
    """Submit ``orders_per_bar`` market orders at each bar's close; they fill on the next bar.

    ``path="api"``: ``submit_order`` and ``process_market_data``, which return the order and
    the events built, with a listener counting events. ``path="records"``: what an adapter
    runs (``FinbotBroker`` does): ``send_order``, ``step_market_data`` and a record listener,
    so order events reach it unbuilt (see ``ExecutionSimulator.add_record_listener``).
    """
    data = _bars(bars + 1)
    quantity = Decimal(1)

    def run() -> float:
        sim = ExecutionSimulator(Decimal(10_000_000), latency=latency, seed=1, risk=risk)
        sides = (OrderSide.BUY, OrderSide.SELL)
        first_time, first_bar = data[0]
        sim.process_market_data(first_time, {"AAA": first_bar})
        counter = _EventCounter()
        if path == "records":
            sim.add_record_listener(counter, counter.record)
            submit, step = sim.send_order, sim.step_market_data
        else:
            sim.add_listener(counter)
            submit, step = sim.submit_order, sim.process_market_data  # type: ignore[assignment]
        n = 0
        started = time.perf_counter()
        for i in range(bars):
            now = data[i][0]
            for _ in range(orders_per_bar):
                n += 1
                submit(
                    Order(order_id=f"o{n}", symbol="AAA", side=sides[n & 1], order_type=OrderType.MARKET,
                          quantity=quantity),
                    now,
                )
            close_time, bar = data[i + 1]
            step(close_time, {"AAA": bar})
        elapsed = time.perf_counter() - started
        filled = sum(1 for o in sim.orders() if o.status.value == "filled")
        if filled != bars * orders_per_bar:
            raise RuntimeError(f"expected {bars * orders_per_bar} fills, got {filled}")
        run.events = counter.count  # type: ignore[attr-defined]
        return elapsed

    seconds = _best(repeat, run)
    trips = bars * orders_per_bar
    events = run.events  # type: ignore[attr-defined]
    return {
        "latency": latency,
        "risk": "all rules" if risk is not None else "none",
        "path": path,
        "bars": bars,
        "orders_per_bar": orders_per_bar,
        "round_trips": trips,
        "seconds": seconds,
        "round_trips_per_second": trips / seconds,
        "events": events,
        "events_per_second": events / seconds,
        "us_per_round_trip": seconds / trips * 1e6,
    }


def bench_queue(size: int, ops: int, repeat: int, shape: str = "random") -> dict[str, Any]:
    """Fill a queue to ``size`` then time ``ops`` steady-state push+pop pairs.

    ``shape="random"``: due times uniformly random over 1,000 s, the worst case
    (every action out of order). ``shape="latency"``: what the simulator makes,
    a clock moving forward and a constant latency leg, so each action is due
    after the ones queued before it; each step pushes one action and pops the
    one now due.
    """
    rng = random.Random(3)
    base = START
    if shape == "random":
        horizon = 10**9  # microseconds of spread in due times
        fill_due = [base + timedelta(microseconds=rng.randrange(horizon)) for _ in range(size)]
        push_due = [base + timedelta(microseconds=rng.randrange(horizon)) for _ in range(ops)]
        pop_until = [base + timedelta(days=365)] * ops
    else:
        step = timedelta(microseconds=10)
        latency = step * size
        fill_due = [base + step * i for i in range(size)]
        push_due = [base + step * i + latency for i in range(ops)]
        pop_until = [base + step * i for i in range(ops)]

    def run() -> float:
        queue = PendingActionQueue()
        for i, due in enumerate(fill_due):
            queue.add_action(due, ActionKind.SUBMIT, f"o{i}")
        add, pop = queue.add_action, queue.pop_due
        kind = ActionKind.SUBMIT
        started = time.perf_counter()
        for due, until in zip(push_due, pop_until, strict=True):
            add(due, kind, "x")
            pop(until)
        elapsed = time.perf_counter() - started
        if len(queue) != size:
            raise RuntimeError("queue size drifted")
        return elapsed

    seconds = _best(repeat, run)
    return {"pending": size, "pairs": ops, "shape": shape, "ns_per_push_pop": seconds / ops * 1e9}


def bench_resting(resting: int, bars: int, repeat: int) -> dict[str, Any]:
    """Time ``process_market_data`` with ``resting`` limit orders that cannot fill."""
    data = _bars(bars + 1)

    def run() -> float:
        sim = ExecutionSimulator(Decimal(10_000_000), latency="normal", seed=1)
        first_time, first_bar = data[0]
        sim.process_market_data(first_time, {"AAA": first_bar})
        for i in range(resting):
            buy = i % 2 == 0
            price = Decimal("10.00") + Decimal(i) / 100 if buy else Decimal("1000.00") - Decimal(i) / 100
            sim.submit_order(Order(order_id=f"r{i}", symbol="AAA",
                                   side=OrderSide.BUY if buy else OrderSide.SELL,
                                   order_type=OrderType.LIMIT, quantity=Decimal(1), limit_price=price),
                             first_time)
        started = time.perf_counter()
        for close_time, bar in data[1:]:
            sim.process_market_data(close_time, {"AAA": bar})
        elapsed = time.perf_counter() - started
        if len(sim.open_orders()) != resting:
            raise RuntimeError("a resting order filled")
        return elapsed

    seconds = _best(repeat, run)
    return {"resting_orders": resting, "bars": bars, "us_per_bar": seconds / bars * 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run with tiny sizes")
    parser.add_argument("--json", type=Path, help="write machine-readable results to this path")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement (best is kept)")
    args = parser.parse_args(argv)
    quick = args.quick
    repeat = args.repeat if args.repeat is not None else (1 if quick else 3)
    bars = 200 if quick else 20_000
    queue_sizes = (1_000, 10_000) if quick else (1_000, 100_000, 1_000_000)
    queue_ops = 2_000 if quick else 200_000
    resting_sizes = (10, 100) if quick else (10, 100, 1_000)
    resting_bars = 50 if quick else 2_000

    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "python": sys.version.split()[0], "implementation": platform.python_implementation()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "repeat": repeat,
    }
    print(f"finbot_bt core benchmarks  python {results['machine']['python']}  {results['machine']['platform']}")

    trips = []
    for latency, risk, path in (("normal", ALL_RULES, "api"), ("normal", None, "api"), ("instant", None, "api"),
                                ("normal", ALL_RULES, "records"), ("instant", None, "records")):
        trips.append(bench_round_trips(bars, 1, repeat, latency, risk, path))
        trips.append(bench_round_trips(max(1, bars // 10), 10, repeat, latency, risk, path))
    results["round_trips"] = trips
    print("\nsubmit->fill round trips (the first two lines are the issue's configuration)")
    for r in trips:
        print(f"  {r['latency']:>7} latency, risk {r['risk']:9} {r['path']:>7}  {r['orders_per_bar']:>2} order(s)/bar  "
              f"{r['round_trips']:>7} trips  {r['round_trips_per_second']:>10,.0f} trips/s  "
              f"{r['events_per_second']:>10,.0f} events/s  {r['us_per_round_trip']:6.2f} us/trip")
    print(f"  targets: >= {ROUND_TRIP_TARGET_ISSUE_2:,} (issue 2), >= {ROUND_TRIP_TARGET_ISSUE_6:,} (issue 6)")

    results["queue"] = {"target_ratio": QUEUE_RATIO_TARGET}
    print("\npending-action queue, steady-state push+pop")
    for shape, label in (("latency", "in order (the simulator's shape)"), ("random", "random order (worst case)")):
        queue = [bench_queue(size, queue_ops, repeat, shape) for size in queue_sizes]
        ratio = queue[-1]["ns_per_push_pop"] / queue[0]["ns_per_push_pop"]
        results["queue"][shape] = {"sizes": queue, "ratio_largest_to_smallest": ratio}
        print(f"  {label}")
        for q in queue:
            print(f"  {q['pending']:>11,} pending  {q['ns_per_push_pop']:8.0f} ns/pair")
        print(f"    ratio {queue[-1]['pending']:,}/{queue[0]['pending']:,}: {ratio:.2f}x "
              f"(target <= {QUEUE_RATIO_TARGET}x)")

    resting = [bench_resting(size, resting_bars, repeat) for size in resting_sizes]
    results["resting"] = resting
    print("\nper-bar cost with resting limit orders that cannot fill")
    for r in resting:
        print(f"  {r['resting_orders']:>5} resting  {r['us_per_bar']:9.1f} us/bar")

    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
