"""Data that ships with finbot_bt, so a fresh install can run a backtest offline.

``synthetic_daily.csv`` is two years (504 sessions, 2022-01-03 to 2023-12-29)
of synthetic daily bars in Yahoo's layout
(``Date,Open,High,Low,Close,Adj Close,Volume``), made by
``python -m finbot_bt.data._generate``; it is not market data. This package
depends on the standard library only.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_FILE = "synthetic_daily.csv"
SAMPLE_SYMBOL = "SYNTH"


def sample_path() -> Path:
    """Return the path of the bundled daily OHLCV CSV file."""
    return Path(str(resources.files(__name__).joinpath(SAMPLE_FILE)))


__all__ = ["SAMPLE_FILE", "SAMPLE_SYMBOL", "sample_path"]
