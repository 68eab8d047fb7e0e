"""Market data for sweeps: CSV files read once per process and cached.

A Dask worker process keeps every frame it has read, keyed by the file's
absolute path, size and modification time, so the tasks of a sweep carry
only paths and each worker reads each file once. The cache is per process:
it is what "loaded once per worker" means with process workers.

Accepted CSV layout: a first column of dates or datetimes (``Date``,
``datetime``, ...), then ``open, high, low, close, volume`` and optionally
``openinterest``, in any letter case (Backtrader's CSV layout fits).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pandas as pd

from finbot_bt.errors import ConfigError

COLUMNS = ("open", "high", "low", "close", "volume", "openinterest")

_lock = threading.Lock()
_cache: dict[tuple[str, int, int], pd.DataFrame] = {}
_reads = 0


def read_ohlcv(path: str | Path) -> pd.DataFrame:
    """Read one OHLCV CSV into a frame indexed by datetime (no caching)."""
    frame = pd.read_csv(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in COLUMNS[:5] if c not in frame.columns]
    if missing:
        raise ConfigError(f"data file {str(path)!r} lacks column(s) {missing}; expected date + {list(COLUMNS)}")
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.iloc[:, 0]), name="datetime")
    if "openinterest" not in frame.columns:
        frame["openinterest"] = 0.0
    out = frame.loc[:, list(COLUMNS)].astype(float)
    if not out.index.is_monotonic_increasing:
        raise ConfigError(f"data file {str(path)!r}: dates are not in increasing order")
    return out


def load_ohlcv(path: str | Path) -> pd.DataFrame:
    """Read ``path`` through this process's cache (re-read when the file changes).

    The returned frame is shared: callers must not modify it.
    """
    global _reads
    resolved = os.path.abspath(path)
    try:
        stat = os.stat(resolved)
    except OSError as exc:
        raise ConfigError(f"data file {resolved!r} is not readable: {exc.strerror}") from None
    key = (resolved, stat.st_size, stat.st_mtime_ns)
    with _lock:
        frame = _cache.get(key)
        if frame is None:
            frame = read_ohlcv(resolved)
            _cache[key] = frame
            _reads += 1
    return frame


def cache_reads() -> int:
    """How many files this process has read into the cache (for tests and benchmarks)."""
    return _reads


def clear_cache() -> None:
    """Forget every cached frame."""
    global _reads
    with _lock:
        _cache.clear()
        _reads = 0


__all__ = ["cache_reads", "clear_cache", "load_ohlcv", "read_ohlcv"]
