"""A deterministic, busy simulation used by the checkpoint and crash-recovery tests.

Every step feeds one bar per symbol (sometimes only one symbol), then a few
random actions decided from a per-step RNG and the simulator's own state:
market/limit/stop/stop-limit orders, brackets, OCO pairs, cancels, time
advances, and now and then the kill switch. Bars come 60 ms to 2 s apart
with NORMAL latency, so submits, fill reports and cancels are often in
flight at a step boundary; a participation cap makes partial fills.
Runnable as a script: ``python ckpt_scenario.py BASE_DIR STEPS EVERY`` runs
with a journal (flush every event) and a checkpoint every EVERY steps.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

if __name__ == "__main__":  # run as a script by the crash test
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finbot_bt.contracts import Bar, Order, OrderSide, OrderType, TimeInForce
from finbot_bt.contracts.risk import OrderRateLimit, OrderSizeRule, RiskConfig
from finbot_bt.execution import (
    ExecutionSimulator,
    FillConfig,
    ParticipationCap,
    PercentSlippage,
    PerShareCommission,
)

SYMBOLS = ("AAA", "BBB")
T0 = datetime(2024, 3, 4, 9, 30)
SIM_ID = "crashy"


def make_simulator(*, retain_history: bool = True, simulator_id: str = SIM_ID, risk: bool = True) -> ExecutionSimulator:
    """The simulator under test (NORMAL latency, slippage, commission, volume cap, risk)."""
    return ExecutionSimulator(
        Decimal("50000"),
        latency="normal",
        slippage=PercentSlippage(rate=Decimal("0.0005")),
        commission=PerShareCommission(rate=Decimal("0.01"), minimum=Decimal("1")),
        fill=FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.5"))),
        risk=RiskConfig(order_size=OrderSizeRule(max_order_quantity=Decimal("70")),
                        order_rate=OrderRateLimit(max_orders=3, interval=timedelta(seconds=1))) if risk else None,
        seed=11,
        simulator_id=simulator_id,
        retain_history=retain_history,
    )


def make_bars(steps: int, seed: int = 3) -> list[tuple[datetime, dict[str, Bar]]]:
    """Step times and bars (a random walk per symbol, 2-decimal prices, small volumes)."""
    rng = random.Random(seed)
    prices = {"AAA": Decimal("100"), "BBB": Decimal("40")}
    t = T0
    out = []
    for _ in range(steps):
        t += timedelta(milliseconds=rng.choice((60, 80, 120, 250, 700, 2000)))
        bars = {}
        for symbol in SYMBOLS:
            if symbol == "BBB" and rng.random() < 0.3:
                continue
            open_ = prices[symbol]
            close = max(Decimal("1"), open_ + Decimal(rng.randint(-150, 150)) / 100)
            high = max(open_, close) + Decimal(rng.randint(0, 80)) / 100
            low = max(Decimal("0.5"), min(open_, close) - Decimal(rng.randint(0, 80)) / 100)
            bars[symbol] = Bar(open=open_, high=high, low=low, close=close, timestamp=t,
                               volume=Decimal(rng.randint(0, 120)))
            prices[symbol] = close
        out.append((t, bars))
    return out


def run_step(sim: ExecutionSimulator, index: int, step: tuple[datetime, dict[str, Bar]]) -> None:
    """Feed step ``index``: its bars, then actions decided by a per-step RNG and the state."""
    t, bars = step
    sim.process_market_data(t, bars)
    rng = random.Random(1_000_003 * index + 17)
    now = t
    for _ in range(rng.randint(0, 3)):
        now += timedelta(milliseconds=7)
        roll = rng.random()
        open_orders = sorted(o.order_id for o in sim.open_orders())
        if roll < 0.2 and open_orders:
            sim.cancel_order(rng.choice(open_orders), now)
        elif roll < 0.25:
            sim.advance_time(now)
        elif roll < 0.27:
            if sim.trading_enabled:
                sim.disable_trading("test halt", now, cancel_open_orders=rng.random() < 0.5)
            else:
                sim.enable_trading(now)
        else:
            _submit(sim, rng, now)
    if not sim.trading_enabled and rng.random() < 0.3:
        sim.enable_trading(now + timedelta(milliseconds=1))


def _submit(sim: ExecutionSimulator, rng: random.Random, now: datetime) -> None:
    symbol = rng.choice(SYMBOLS)
    last = sim.last_price(symbol) or Decimal("50")
    side = rng.choice((OrderSide.BUY, OrderSide.SELL))
    kind = rng.choice((OrderType.MARKET, OrderType.LIMIT, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT))
    quantity = Decimal(rng.randint(1, 80))
    offset = Decimal(rng.randint(-200, 200)) / 100
    limit = stop = None
    if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        limit = max(Decimal("1"), last + offset)
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
        stop = max(Decimal("1"), last - offset)
    tif = rng.choice((TimeInForce.GTC, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.IOC))
    oco = f"g{sim.book.order_counter}" if rng.random() < 0.1 else None
    parent = sim.submit_order(Order(order_id=sim.next_order_id(), symbol=symbol, side=side, order_type=kind,
                                    quantity=quantity, limit_price=limit, stop_price=stop,
                                    time_in_force=tif, oco_group=oco), now)
    if oco is not None:
        sim.submit_order(Order(order_id=sim.next_order_id(), symbol=symbol, side=side, order_type=OrderType.LIMIT,
                               quantity=quantity, limit_price=max(Decimal("1"), last - offset),
                               oco_group=oco), now)
    elif parent.is_open and rng.random() < 0.15:
        exit_side = OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY
        sim.submit_order(Order(order_id=sim.next_order_id(), symbol=symbol, side=exit_side,
                               order_type=OrderType.LIMIT, quantity=quantity,
                               limit_price=last + (2 if exit_side is OrderSide.SELL else -1),
                               parent_id=parent.order_id), now)


def main(base_dir: str, steps: int, every: int) -> None:
    """Run with a journal flushed at every event and a checkpoint every ``every`` steps."""
    from finbot_bt.execution.checkpoint import CheckpointManager

    manager = CheckpointManager(base_dir, keep_last=3)
    sim = make_simulator(retain_history=False)
    manager.open_journal(sim)
    bars = make_bars(steps)
    print("ready", flush=True)
    for index, step in enumerate(bars):
        run_step(sim, index, step)
        if (index + 1) % every == 0:
            manager.checkpoint(sim, metadata={"next_step": index + 1})
        print(f"step {index}", flush=True)  # lets the parent aim its kill at a moment of the run
    manager.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
