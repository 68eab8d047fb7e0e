"""Broker benchmark: BackBroker vs FinbotBroker() vs FinbotBroker(latency="normal", risk=<all rules>).

Same strategy and data, side by side in one process, median CPU time
(``time.process_time``, the garbage collector on, as in a user's run) of
several runs, interleaved across brokers; the ratio of the fastest runs is
printed too, as it is the least sensitive to a noisy machine. Each run's final
broker value is checked against BackBroker's (exact Decimal money may differ
from BackBroker's float sums in the last digits; more than 1e-9 relative is an
error, as a faster broker that computes something else measures nothing):

* ``market``: one market order every bar;
* ``limits``: ten far limit orders a bar, each valid five bars (about 50 resting);
* ``sma4``: an SMA crossover over four data feeds;
* ``empty``: a strategy that never orders (the cost of the broker per bar).

Run ``python benchmarks/bench_broker.py`` (``--quick`` for a smoke run,
``--json PATH`` to keep the figures).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import random
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

import backtrader as bt
import pandas as pd

from finbot_bt import FinbotBroker
from finbot_bt.contracts.risk import (
    DrawdownLimitRule,
    ExposureLimitRule,
    OrderRateLimit,
    OrderSizeRule,
    PositionLimitRule,
    RiskConfig,
)


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    close = 100.0
    rows = []
    start = dt.datetime(1990, 1, 1)
    for i in range(n):
        open_ = close * (1 + rng.gauss(0, 0.004))
        close = open_ * (1 + rng.gauss(0, 0.01))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.004)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.004)))
        rows.append((start + dt.timedelta(days=i), open_, high, low, close, 1_000_000.0, 0.0))
    data = pd.DataFrame(rows, columns=["datetime", "open", "high", "low", "close", "volume", "openinterest"])
    return data.set_index("datetime")


ALL_RULES = RiskConfig(
    position_limit=PositionLimitRule(max_shares=Decimal(1_000_000), max_value=Decimal(10**12)),
    exposure_limit=ExposureLimitRule(max_gross_exposure_pct=Decimal(10_000), max_net_exposure_pct=Decimal(10_000)),
    drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=Decimal(100), max_total_drawdown_pct=Decimal(100)),
    order_size=OrderSizeRule(max_order_quantity=Decimal(1_000_000), max_order_notional=Decimal(10**12)),
    order_rate=OrderRateLimit(max_orders=1_000_000, interval=dt.timedelta(seconds=1)),
)

BROKERS: dict[str, Any] = {
    "BackBroker": lambda: bt.brokers.BackBroker(cash=1e9),
    "FinbotBroker()": lambda: FinbotBroker(cash=1e9),
    "FinbotBroker(normal, all risk)": lambda: FinbotBroker(cash=1e9, latency="normal", risk=ALL_RULES),
}


class MarketEveryBar(bt.Strategy):
    def next(self) -> None:
        if len(self) % 2:
            self.buy(size=1)
        else:
            self.sell(size=1)


class TenLimits(bt.Strategy):
    def next(self) -> None:
        close = self.data.close[0]
        valid = self.data.datetime.date(0) + dt.timedelta(days=5)
        for i in range(10):
            self.buy(size=1, exectype=bt.Order.Limit, price=close * (0.5 - i * 0.01), valid=valid)


class SmaCross4(bt.Strategy):
    def __init__(self) -> None:
        self.cross = [bt.ind.CrossOver(bt.ind.SMA(d, period=10), bt.ind.SMA(d, period=30)) for d in self.datas]

    def next(self) -> None:
        for data, cross in zip(self.datas, self.cross, strict=True):
            if cross[0] > 0:
                self.order_target_size(data=data, target=10)
            elif cross[0] < 0:
                self.order_target_size(data=data, target=-10)


class NoOrders(bt.Strategy):
    def next(self) -> None:
        pass


CASES: dict[str, tuple[type, int]] = {"market": (MarketEveryBar, 1), "limits": (TenLimits, 1),
                                      "sma4": (SmaCross4, 4), "empty": (NoOrders, 1)}


def run_once(case: str, broker_name: str, frames: list[pd.DataFrame]) -> tuple[float, float]:
    strategy, feeds = CASES[case]
    cerebro = bt.Cerebro(stdstats=False)
    for i in range(feeds):
        cerebro.adddata(bt.feeds.PandasData(dataname=frames[i]))
    cerebro.setbroker(BROKERS[broker_name]())
    cerebro.addstrategy(strategy)
    gc.collect()
    assert gc.isenabled(), "the benchmark measures with the garbage collector on"
    start = time.process_time()
    cerebro.run()
    return time.process_time() - start, cerebro.broker.getvalue()


VALUE_TOLERANCE = 1e-9  # relative: float sums against exact Decimal money


def same_value(value: float, reference: float) -> bool:
    return abs(value - reference) <= VALUE_TOLERANCE * max(1.0, abs(reference))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 bars, one repeat")
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.bars, args.repeat = 500, 1
    frames = [frame(args.bars, seed) for seed in range(4)]
    results: dict[str, Any] = {
        "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(), "date": dt.date.today().isoformat(),
        "bars": args.bars, "repeat": args.repeat, "clock": "process_time", "gc": "on", "cases": {},
    }
    print("CPU seconds (process_time), garbage collector on, runs interleaved")
    print(f"{'case':8} {'broker':32} {'median s':>9} {'bars/s':>9} {'ratio':>6} {'min s':>7} {'ratio':>6}")
    for case in args.cases.split(","):
        # Runs are interleaved (A B C, A B C, ...) so that drift in the machine's speed
        # during the benchmark falls on every broker alike instead of on one of them.
        runs: dict[str, list[float]] = {name: [] for name in BROKERS}
        values: dict[str, float] = {}
        for _ in range(args.repeat):
            for name in BROKERS:
                seconds, values[name] = run_once(case, name, frames)
                runs[name].append(seconds)
        for name, value in values.items():
            if not same_value(value, values["BackBroker"]):
                raise SystemExit(f"{case}: {name} ended at {value!r}, BackBroker at {values['BackBroker']!r}")
        base = statistics.median(runs["BackBroker"])
        base_min = min(runs["BackBroker"])
        results["cases"][case] = {}
        for name, times in runs.items():
            median = statistics.median(times)
            ratio, ratio_min = median / base, min(times) / base_min
            results["cases"][case][name] = {"median_s": median, "bars_per_s": args.bars / median,
                                            "ratio": ratio, "min_s": min(times), "ratio_of_min": ratio_min,
                                            "runs": times, "final_value": values[name]}
            print(f"{case:8} {name:32} {median:9.2f} {args.bars / median:9.0f} {ratio:6.2f} "
                  f"{min(times):7.2f} {ratio_min:6.2f}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
