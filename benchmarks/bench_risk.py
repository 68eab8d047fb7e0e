"""Cost of pre-trade risk checks per order (a script, not a test).

Run from the repository root::

    python benchmarks/bench_risk.py            # full run (a few seconds)
    python benchmarks/bench_risk.py --quick    # smoke run

Measures, on one core, for books of 1, 5 and 20 held symbols with as many
resting limit orders:

1. ``check_order``: ``RiskEngine.check_order`` alone for an order that adds to
   a position and passes, with every rule on (order size, throttle, position
   with value cap, gross and net exposure, daily and total drawdown) versus an
   empty ``RiskConfig()``. The throttle is sized so that it never refuses.
2. ``submit``: the whole ``ExecutionSimulator.submit_order`` path with all
   rules versus ``risk=None``, for an order the risk layer passes and the funds
   check then refuses, so the book does not grow between iterations.

Timings are the best of ``--repeat`` runs, in microseconds per order.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from finbot_bt.contracts.enums import OrderSide, OrderType
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.risk import (
    DrawdownLimitRule,
    ExposureLimitRule,
    OrderRateLimit,
    OrderSizeRule,
    PositionLimitRule,
    RiskConfig,
)
from finbot_bt.execution.risk import RiskEngine
from finbot_bt.execution.simulator import ExecutionSimulator

START = datetime(2024, 1, 2, 16, 0, tzinfo=UTC)
ALL_RULES = RiskConfig(
    position_limit=PositionLimitRule(max_shares=Decimal(10**6), max_value=Decimal(10**9)),
    exposure_limit=ExposureLimitRule(max_gross_exposure_pct=Decimal(10**6), max_net_exposure_pct=Decimal(10**6)),
    drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=Decimal(5), max_total_drawdown_pct=Decimal(20)),
    order_size=OrderSizeRule(max_order_quantity=Decimal(10**6), max_order_notional=Decimal(10**9)),
    order_rate=OrderRateLimit(max_orders=10**9, interval=timedelta(microseconds=1)),
)


def _book(symbols: int, risk: RiskConfig | None) -> ExecutionSimulator:
    """A simulator holding ``symbols`` positions with one resting limit order each."""
    sim = ExecutionSimulator(Decimal(10**6), risk=risk)
    names = [f"S{i:03d}" for i in range(symbols)]
    sim.process_market_data(START, {s: Decimal(100) for s in names})
    for name in names:
        sim.submit_order(_order(sim, name, 10), START)
    later = START + timedelta(minutes=1)
    sim.process_market_data(later, {s: Decimal(100) for s in names})
    for name in names:
        sim.submit_order(_order(sim, name, 5, limit=Decimal(50)), later)
    return sim


def _order(sim: ExecutionSimulator, symbol: str, quantity: int, limit: Decimal | None = None) -> Order:
    return Order(order_id=sim.next_order_id(), symbol=symbol, side=OrderSide.BUY,
                 order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
                 quantity=Decimal(quantity), limit_price=limit)


def _best(run: Callable[[], None], iterations: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
        gc.enable()
        best = min(best, elapsed)
    return best / iterations * 1e6


def bench_check_order(symbols: int, iterations: int, repeat: int) -> tuple[float, float]:
    results = []
    for config in (ALL_RULES, RiskConfig()):
        sim = _book(symbols, None)
        engine = RiskEngine(config)
        order = _order(sim, "S000", 1)
        when = sim.clock
        assert when is not None
        check = engine.check_order

        def run(check: Callable[..., object] = check, order: Order = order, sim: ExecutionSimulator = sim,
                when: datetime = when) -> None:
            for _ in range(iterations):
                if check(order, sim, when) is not None:
                    raise RuntimeError("the benchmark order must pass")

        results.append(_best(run, iterations, repeat))
    return results[0], results[1]


def bench_submit(symbols: int, iterations: int, repeat: int) -> tuple[float, float]:
    results = []
    for config in (ALL_RULES, None):
        sim = _book(symbols, config)
        when = sim.clock
        assert when is not None
        orders = [_order(sim, "S000", 10**5) for _ in range(iterations * repeat)]
        feed = iter(orders)

        def run(sim: ExecutionSimulator = sim, when: datetime = when, feed: object = feed) -> None:
            submit = sim.submit_order
            for _ in range(iterations):
                result = submit(next(feed), when)  # type: ignore[call-overload]
                if result.rejection_reason is None or result.rejection_reason.value != "insufficient_funds":
                    raise RuntimeError(f"expected a funds refusal, got {result.rejection_reason}")

        results.append(_best(run, iterations, repeat))
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    iterations = 500 if args.quick else 20000
    repeat = 1 if args.quick else args.repeat
    print(f"risk checks, {iterations} orders x best of {repeat}, microseconds per order")
    print(f"{'book':>22} {'check all':>10} {'check none':>11} {'submit all':>11} {'submit none':>12} {'added':>7}")
    for symbols in (1, 5, 20):
        all_rules, none = bench_check_order(symbols, iterations, repeat)
        submit_all, submit_none = bench_submit(symbols, iterations, repeat)
        label = f"{symbols} held + {symbols} resting"
        print(f"{label:>22} {all_rules:10.2f} {none:11.2f} {submit_all:11.2f} {submit_none:12.2f} "
              f"{submit_all - submit_none:7.2f}")


if __name__ == "__main__":
    main()
