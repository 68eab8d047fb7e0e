"""Regenerate the bundled synthetic daily OHLCV file (``python -m finbot_bt.data._generate``).

The series is a seeded random walk with drifting regimes, overnight gaps and
volume that rises on large moves. It is synthetic on purpose: no licence, no
network, and the same bytes on every machine (prices are rounded to cents with
``Decimal`` arithmetic, not float formatting).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

SEED = 20240101
START = date(2022, 1, 3)
TRADING_DAYS = 504
HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
CENT = Decimal("0.01")
# (number of days, daily drift): an up-trend, a sell-off, a range, a recovery.
REGIMES = ((120, 0.0012), (80, -0.0018), (110, 0.0), (120, 0.0015), (74, -0.0006))


def _cents(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _business_days(start: date, count: int) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def rows(seed: int = SEED) -> list[str]:
    """CSV lines (without the header) of the bundled series."""
    rng = random.Random(seed)
    drifts = [drift for length, drift in REGIMES for _ in range(length)]
    close = 100.0
    lines = []
    for day, drift in zip(_business_days(START, TRADING_DAYS), drifts, strict=True):
        gap = rng.gauss(0.0, 0.006)
        move = rng.gauss(drift, 0.014)
        open_ = _cents(close * (1 + gap))
        close_d = _cents(float(open_) * (1 + move))
        high = _cents(float(max(open_, close_d)) * (1 + abs(rng.gauss(0.0, 0.005))))
        low = _cents(float(min(open_, close_d)) * (1 - abs(rng.gauss(0.0, 0.005))))
        volume = int(rng.lognormvariate(9.3, 0.35) * (1 + 25 * abs(move)))
        lines.append(f"{day.isoformat()},{open_},{high},{low},{close_d},{close_d},{volume}")
        close = float(close_d)
    return lines


def write(path: Path) -> Path:
    """Write the series to ``path`` with Yahoo's header and Unix line endings."""
    path.write_text("\n".join([HEADER, *rows()]) + "\n", encoding="ascii")
    return path


if __name__ == "__main__":
    print(write(Path(__file__).with_name("synthetic_daily.csv")))
