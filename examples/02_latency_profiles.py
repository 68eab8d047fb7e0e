"""Latency profiles compared: the same strategy under INSTANT, FAST, NORMAL and SLOW.

The profiles are milliseconds to a second of simulated time. On daily bars a
market order sent at the close waits for the next open anyway, so the
profiles change when fills are reported (the latency columns), not their
prices. A custom ``LatencyConfig`` longer than the overnight gap (here 20
hours) makes orders miss the next open, and then prices and P&L change.
Run: python examples/02_latency_profiles.py
"""

from __future__ import annotations

from datetime import timedelta

from finbot_bt import FinbotBroker
from finbot_bt.broker.strategies import SmaCross
from finbot_bt.contracts.latency import LatencyConfig
from finbot_bt.runner.backtest import run_backtest, sample_frames
from finbot_bt.runner.summary import format_table

SLOW_LINK = LatencyConfig(submission_latency=timedelta(hours=20), name="20h")
PROFILES = ("instant", "fast", "normal", "slow", SLOW_LINK)

if __name__ == "__main__":
    frames = sample_frames()
    results = []
    for profile in PROFILES:
        label = profile if isinstance(profile, str) else profile.name
        broker = FinbotBroker(cash=100_000.0, latency=profile, seed=1)
        results.append(run_backtest(SmaCross, frames, broker=broker, label=label))
    print(format_table([r.summary for r in results]))
    print()
    for result in results:
        fills = result.broker.fills_frame()
        latency_ms = fills["latency_seconds"] * 1000
        print(f"{result.label:>8}: latency {latency_ms.min():10.1f}..{latency_ms.max():10.1f} ms; "
              f"first fill {fills['timestamp'].iloc[0]:%Y-%m-%d %H:%M} at {fills['price'].iloc[0]:.2f}")
