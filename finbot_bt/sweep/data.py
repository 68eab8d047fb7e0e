"""Market data for sweeps: files read once per process and cached.

A Dask worker process keeps every frame it has read, keyed by the file's
absolute path, size and modification time, so the tasks of a sweep carry
only paths and each worker reads each file once. The cache is per process:
with process workers that is "loaded once per worker".

Files are read by :func:`finbot_bt.runner.loading.load_ohlcv` (Yahoo,
Backtrader or generic OHLCV CSV, or Parquet), the same loader as
``finbot-bt run``. A path written ``bundled:NAME`` names a file shipped in
:mod:`finbot_bt.data` (``bundled:synthetic_daily.csv``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pandas as pd

from finbot_bt.runner.errors import DataError
from finbot_bt.runner.loading import load_ohlcv

BUNDLED = "bundled:"

_lock = threading.Lock()
_cache: dict[tuple[str, int, int], pd.DataFrame] = {}
_reads = 0


def resolve_data_path(text: str, base_dir: Path) -> str:
    """Absolute path of ``text``: ``bundled:NAME`` or a path relative to ``base_dir``."""
    if text.startswith(BUNDLED):
        from finbot_bt.data import sample_path

        return str(sample_path().parent / text.removeprefix(BUNDLED))
    return str((base_dir / text).resolve())


def cached_ohlcv(path: str | Path) -> pd.DataFrame:
    """Read ``path`` through this process's cache (re-read when the file changes).

    The returned frame is shared between runs: callers must not modify it.
    """
    global _reads
    resolved = os.path.abspath(path)
    try:
        stat = os.stat(resolved)
    except OSError as exc:
        raise DataError(f"data file {resolved} is not readable: {exc.strerror}") from None
    key = (resolved, stat.st_size, stat.st_mtime_ns)
    with _lock:
        frame = _cache.get(key)
        if frame is None:
            frame = load_ohlcv(resolved)
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


__all__ = ["BUNDLED", "cache_reads", "cached_ohlcv", "clear_cache", "resolve_data_path"]
