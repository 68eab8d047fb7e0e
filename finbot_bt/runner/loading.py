"""Load OHLCV files into one normalised layout and wrap them as Backtrader feeds.

Accepted inputs, recognised by their columns (case-insensitive):

* Yahoo CSV: ``Date,Open,High,Low,Close,Adj Close,Volume``;
* Backtrader CSV: ``Date,Open,High,Low,Close,Volume,OpenInterest``, with an
  optional ``Time`` column for intraday bars;
* generic OHLCV CSV: a time column (``datetime``, ``date``, ``timestamp`` or
  ``time``) and ``open, high, low, close`` plus optional ``volume`` and
  ``openinterest``;
* Parquet (``.parquet``/``.pq``) with the same columns, or a datetime index.

The result has a ``DatetimeIndex`` named ``datetime`` (sorted, naive) and
float columns ``open, high, low, close, volume, openinterest``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from finbot_bt.broker.engine import make_feed, timeframe_of
from finbot_bt.runner.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume", "openinterest")
TIME_COLUMNS = ("datetime", "date", "timestamp", "time")
PARQUET_SUFFIXES = (".parquet", ".pq")


def load_ohlcv(path: str | Path) -> pd.DataFrame:
    """Read ``path`` (CSV or Parquet) into the normalised OHLCV layout.

    Raises
    ------
    DataError
        The file is missing, unreadable, has no time or OHLC columns, or has no rows.
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"data file not found: {file}")
    try:
        raw = pd.read_parquet(file) if file.suffix.lower() in PARQUET_SUFFIXES else pd.read_csv(file)
    except ImportError:
        raise DataError(f"reading {file} needs pyarrow: python -m pip install pyarrow") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read data file {file}: {_first_line(exc)}") from None
    return normalise(raw, str(file))


def normalise(raw: pd.DataFrame, source: str = "frame") -> pd.DataFrame:
    """Map ``raw`` (any accepted layout) to the normalised layout; ``source`` names it in errors."""
    frame = raw.rename(columns={c: str(c).strip().lower().replace(" ", "") for c in raw.columns})
    index = _time_index(frame, source)
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}; columns are {list(raw.columns)}")
    out = pd.DataFrame(index=index)
    for column in COLUMNS:
        if column in frame.columns:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy()
        else:
            values = [0.0] * len(frame)
        out[column] = pd.Series(values, index=index, dtype="float64")
    if out.empty:
        raise DataError(f"{source}: no rows")
    bad = out[list(PRICE_COLUMNS)].isna().any(axis=1)
    if bool(bad.any()):
        first = out.index[bad.to_numpy()][0]
        raise DataError(f"{source}: non-numeric or empty price at {first}")
    out["volume"] = out["volume"].fillna(0.0)
    out["openinterest"] = out["openinterest"].fillna(0.0)
    out.index.name = "datetime"
    return out.sort_index()


def _time_index(frame: pd.DataFrame, source: str) -> pd.DatetimeIndex:
    if isinstance(frame.index, pd.DatetimeIndex):
        index = frame.index
    else:
        column = next((c for c in TIME_COLUMNS if c in frame.columns), None)
        if column is None:
            raise DataError(f"{source}: no time column (one of {', '.join(TIME_COLUMNS)})")
        text = frame[column].astype(str)
        if column == "date" and "time" in frame.columns:
            text = text + " " + frame["time"].astype(str)
        try:
            index = pd.DatetimeIndex(pd.to_datetime(text))
        except (ValueError, TypeError) as exc:
            raise DataError(f"{source}: cannot parse {column!r} as dates: {_first_line(exc)}") from None
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    if index.has_duplicates:
        raise DataError(f"{source}: duplicate timestamp {index[index.duplicated()][0]}")
    return index


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def symbol_for(path: str | Path) -> str:
    """The feed name used for ``path``: its file stem, upper-cased."""
    return Path(path).stem.upper()


__all__ = ["load_ohlcv", "make_feed", "normalise", "symbol_for", "timeframe_of"]
