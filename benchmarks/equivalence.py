"""Behaviour fingerprint of the simulator over randomized scenarios (a dev tool, not a test).

Performance work must not change what the simulator does. Run this before
and after a change and compare the output::

    python benchmarks/equivalence.py --out /tmp/before.txt   # on the old code
    python benchmarks/equivalence.py --out /tmp/after.txt    # on the new code
    cmp /tmp/before.txt /tmp/after.txt

Each scenario drives one simulator with a seeded random stream of every order
type, side and time in force, OCO groups, brackets, cancels, expiries,
several symbols, gapping bars, volume caps, slippage and commission, and
writes the ``repr`` of every event plus the final orders, positions and cash.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from finbot_bt.contracts.enums import OrderSide, OrderType, TimeInForce
from finbot_bt.contracts.market import Bar
from finbot_bt.contracts.orders import Order
from finbot_bt.contracts.positions import Instrument
from finbot_bt.execution import (
    BasisPointsSlippage,
    ExecutionSimulator,
    FillConfig,
    FixedCommission,
    NoSlippage,
    ParticipationCap,
    PercentCommission,
    VolumeShareSlippage,
)

SYMBOLS = ("AAA", "BBB", "FUT")
START = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def _price(rng: random.Random, around: Decimal, spread: int) -> Decimal:
    return max(Decimal("0.50"), around + Decimal(rng.randint(-spread, spread)) / 100)


def _random_order(sim: ExecutionSimulator, rng: random.Random, symbol: str, last: Decimal,
                  now: datetime, parent: str | None, oco: str | None) -> Order:
    kind = rng.choice(list(OrderType))
    side = rng.choice(list(OrderSide))
    tif = rng.choice([TimeInForce.GTC] * 4 + [TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC,
                                              TimeInForce.FOK])
    quantity = Decimal(rng.choice([1, 2, 5, 10, 50, 300]))
    if rng.random() < 0.02:
        quantity = Decimal(0)
    limit = stop = amount = percent = None
    if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP_LIMIT):
        limit = _price(rng, last, 300)
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP_LIMIT):
        stop = _price(rng, last, 300)
    if kind in (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT):
        if rng.random() < 0.5:
            amount = Decimal(rng.randint(0, 200)) / 100
        else:
            percent = Decimal(rng.randint(0, 5)) / 100
    expire = now + timedelta(minutes=rng.randint(1, 30)) if tif is TimeInForce.GTD else None
    return Order(order_id=sim.next_order_id(), symbol=symbol, side=side, order_type=kind, quantity=quantity,
                 limit_price=limit, stop_price=stop, trail_amount=amount, trail_percent=percent,
                 time_in_force=tif, expire_at=expire, parent_id=parent, oco_group=oco)


def run_scenario(seed: int, steps: int) -> list[str]:
    rng = random.Random(seed)
    latency = rng.choice(["instant", "fast", "normal", "slow"])
    cap = ParticipationCap(fraction=Decimal("0.3")) if rng.random() < 0.4 else None
    slippage = rng.choice([NoSlippage(), BasisPointsSlippage(bps=Decimal(5)),
                           VolumeShareSlippage()])
    commission = rng.choice([PercentCommission(rate=Decimal("0.001"), minimum=Decimal(1)),
                             FixedCommission(amount=Decimal(2))])
    fill = FillConfig(volume_cap=cap, market_at_last_close=rng.random() < 0.15,
                      check_funds_on_submit=rng.random() < 0.8)
    sim = ExecutionSimulator(Decimal(rng.choice([5_000, 100_000, 1_000_000])), latency=latency,
                             slippage=slippage, commission=commission, fill=fill, seed=seed,
                             instruments=[Instrument(symbol="FUT", multiplier=Decimal(10),
                                                     margin=Decimal(500))])
    out: list[str] = [f"scenario seed={seed} latency={latency} cap={cap} slip={slippage} comm={commission}"]
    sim.add_listener(lambda event: out.append(repr(event)))
    prices = {s: Decimal(rng.randint(50, 150)) for s in SYMBOLS}
    now = START
    open_ids: list[str] = []
    group = 0
    explicit_open = rng.random() < 0.5
    # Every symbol has a price before the first order (a trailing stop needs one).
    sim.process_market_data(now, {s: p for s, p in prices.items()})
    now += timedelta(seconds=1)
    for step in range(steps):
        for _ in range(rng.randint(0, 4)):
            symbol = rng.choice(SYMBOLS)
            roll = rng.random()
            t = now + timedelta(milliseconds=rng.randint(0, 3000))
            if roll < 0.12:
                group += 1
                oco = f"g{group}"
                for _ in range(2):
                    order = _random_order(sim, rng, symbol, prices[symbol], now, None, oco)
                    sim.submit_order(order, t)
                    open_ids.append(order.order_id)
            elif roll < 0.22:
                parent = Order(order_id=sim.next_order_id(), symbol=symbol, side=rng.choice(list(OrderSide)),
                               order_type=rng.choice([OrderType.MARKET, OrderType.LIMIT]),
                               quantity=Decimal(rng.randint(1, 20)), limit_price=_price(rng, prices[symbol], 100))
                sim.submit_order(parent, t)
                for _ in range(2):
                    child = _random_order(sim, rng, symbol, prices[symbol], now, parent.order_id, None)
                    sim.submit_order(child, t)
                open_ids.append(parent.order_id)
            elif roll < 0.35 and open_ids:
                sim.cancel_order(rng.choice([*open_ids, "nope"]), t)
            else:
                order = _random_order(sim, rng, symbol, prices[symbol], now, None, None)
                sim.submit_order(order, t)
                open_ids.append(order.order_id)
            now = max(now, t)
        if step == steps // 2 and rng.random() < 0.3:
            sim.disable_trading("test", now, flatten=rng.random() < 0.5)
            sim.enable_trading(now)
        bar_time = now + timedelta(minutes=rng.choice([1, 1, 1, 5, 60 * 20]))
        feed: dict[str, Bar | Decimal] = {}
        for symbol in SYMBOLS:
            if rng.random() < 0.2:
                continue
            last = prices[symbol]
            gap = rng.randint(-400, 400) if rng.random() < 0.1 else rng.randint(-50, 50)
            open_ = max(Decimal("1.00"), last + Decimal(gap) / 100)
            close = max(Decimal("1.00"), open_ + Decimal(rng.randint(-200, 200)) / 100)
            high = max(open_, close) + Decimal(rng.randint(0, 150)) / 100
            low = max(Decimal("0.50"), min(open_, close) - Decimal(rng.randint(0, 150)) / 100)
            if rng.random() < 0.1:
                feed[symbol] = close
            else:
                volume = Decimal(rng.choice([0, 10, 100, 1000, 100_000]))
                open_time = now + timedelta(milliseconds=rng.randint(0, 2000)) if explicit_open else None
                if open_time is not None and open_time > bar_time:
                    open_time = bar_time
                feed[symbol] = Bar(open=open_, high=high, low=low, close=close, volume=volume,
                                   timestamp=bar_time, open_time=open_time,
                                   session_close=rng.random() < 0.3)
            prices[symbol] = close
        sim.process_market_data(bar_time, feed)
        now = bar_time
    out.append(f"cash={sim.cash!r}")
    out.extend(repr(o) for o in sim.orders())
    out.extend(repr(p) for p in sim.positions().values())
    out.extend(repr(o) for o in sim.open_orders())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=60)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--out", type=Path, help="write the full event log here")
    args = parser.parse_args(argv)
    digest = hashlib.sha256()
    lines: list[str] = []
    for seed in range(args.scenarios):
        try:
            scenario = run_scenario(seed, args.steps)
        except Exception as exc:  # a bug is behaviour too: record where it happens
            scenario = [f"scenario seed={seed} raised {type(exc).__name__}: {exc}"]
        lines.extend(scenario)
    for line in lines:
        digest.update(line.encode() + b"\n")
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} lines  sha256 {digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
