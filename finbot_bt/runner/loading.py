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
float columns ``open, high, low, close, volume, openinterest``. Bad values are
refused with a :class:`DataError` naming the file, the row and the column:
non-numeric, infinite, zero, negative or absurd prices, high below low,
non-numeric, infinite or negative volume.

``adjust="yahoo"`` reproduces Backtrader's ``YahooFinanceCSVData``: prices
scaled by ``Adj Close`` and rounded to 2 decimals (see :data:`ADJUST_MODES`).
In the Yahoo layout (an ``Adj Close`` column), rows with a ``null`` value are
days without data and are skipped in both modes, as that feed does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from finbot_bt.broker.engine import make_feed, timeframe_of
from finbot_bt.runner.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume", "openinterest")
TIME_COLUMNS = ("datetime", "date", "timestamp", "time")
PARQUET_SUFFIXES = (".parquet", ".pq")
MAX_PRICE = 1e12
"""Prices at or above this are refused as absurd (a unit or parsing mistake), quote currency."""

# Parse numbers exactly as Python's float() does (and so Backtrader's CSV feeds): pandas 3's
# default parser does; pandas 2 needs "round_trip" (deprecated in pandas 3).
_CSV_OPTIONS: dict[str, Any] = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}

Adjust = Literal["raw", "yahoo"]
ADJUST_MODES: tuple[str, ...] = ("raw", "yahoo")
"""``raw``: prices as in the file, full precision (``Adj Close`` ignored). ``yahoo``: what
Backtrader's ``YahooFinanceCSVData`` does by default: rows with ``null`` skipped, open, high,
low and close scaled by ``Adj Close / Close`` (volume by the inverse), prices rounded to
2 decimals and volume to a whole number."""


def load_ohlcv(path: str | Path, *, adjust: Adjust = "raw") -> pd.DataFrame:
    """Read ``path`` (CSV or Parquet) into the normalised OHLCV layout.

    Parameters
    ----------
    adjust : {"raw", "yahoo"}
        See :data:`ADJUST_MODES`; ``"yahoo"`` needs an ``Adj Close`` column.

    Raises
    ------
    DataError
        The file is missing, unreadable, has no time or OHLC columns, has no rows,
        or has a bad value (the message names the file, the row and the column).
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"data file not found: {file}")
    csv = file.suffix.lower() not in PARQUET_SUFFIXES
    try:
        # Only an empty cell is missing: "null", "n/a" or "NaN" are values to judge, not silently NaN.
        raw = pd.read_csv(file, keep_default_na=False, na_values=[""], **_CSV_OPTIONS) if csv \
            else pd.read_parquet(file)
    except ImportError:
        raise DataError(f"reading {file} needs pyarrow: python -m pip install pyarrow") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read data file {file}: {_first_line(exc)}") from None
    return normalise(raw, str(file), adjust=adjust, header_lines=1 if csv else 0)


def normalise(raw: pd.DataFrame, source: str = "frame", *, adjust: Adjust = "raw",
              header_lines: int = 0) -> pd.DataFrame:
    """Map ``raw`` (any accepted layout) to the normalised layout; ``source`` names it in errors.

    ``header_lines`` (1 for a CSV file) turns row numbers into file line numbers in messages.
    Prices must be numbers, finite, above 0 and below :data:`MAX_PRICE`, with high >= low;
    volume must be a number >= 0 (empty counts as 0).
    """
    if adjust not in ADJUST_MODES:
        raise DataError(f"{source}: adjust must be one of {', '.join(ADJUST_MODES)}, got {adjust!r}")
    frame = raw.rename(columns={c: str(c).strip().lower().replace(" ", "") for c in raw.columns})
    if adjust == "yahoo" or "adjclose" in frame.columns:
        frame = _skip_null_rows(frame, source)
    index = _time_index(frame, source)
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}; columns are {list(raw.columns)}")
    if frame.empty:
        raise DataError(f"{source}: no rows")
    rows = _RowNames(frame, index, header_lines)
    out = pd.DataFrame(index=index)
    for column in COLUMNS:
        if column in frame.columns:
            out[column] = _numbers(frame[column], column, source, rows, required=column in PRICE_COLUMNS)
        else:
            out[column] = pd.Series(0.0, index=index, dtype="float64")
    _check_values(out, source, rows)
    if adjust == "yahoo":
        out = _adjust_like_yahoo(out, frame, source, rows)
    out.index.name = "datetime"
    out = out.sort_index()
    out.attrs.update(adjust=adjust, has_adj_close="adjclose" in frame.columns)
    return out


class _RowNames:
    # Rows are numbered from 1 in the source's order; skipped rows (Yahoo's null rows) keep their numbers.
    def __init__(self, frame: pd.DataFrame, index: pd.DatetimeIndex, header_lines: int) -> None:
        numbered = pd.api.types.is_integer_dtype(frame.index.dtype)
        self.positions = [int(i) for i in frame.index] if numbered else list(range(len(frame)))
        self.index = index
        self.header_lines = header_lines

    def name(self, position: int) -> str:
        row = self.positions[position] + 1
        line = f" (line {row + self.header_lines})" if self.header_lines else ""
        return f"row {row}{line}, {self.index[position]}"


def _numbers(values: pd.Series, column: str, source: str, rows: _RowNames, *, required: bool) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = numbers.isna() & (values.notna() | required)
    if bool(bad.any()):
        position = int(bad.to_numpy().argmax())
        text = values.iloc[position]
        what = "empty" if pd.isna(text) else f"non-numeric value {text!r}"
        raise DataError(f"{source}: {rows.name(position)}, column {column!r}: {what}")
    return pd.Series(numbers.fillna(0.0).to_numpy(), index=rows.index, dtype="float64")


def _check_values(out: pd.DataFrame, source: str, rows: _RowNames) -> None:
    for column in PRICE_COLUMNS:
        values = out[column].to_numpy()
        for problem, bad in (("not finite", ~np.isfinite(values)), ("not above 0", values <= 0),
                             (f"absurd (at or above {MAX_PRICE:g})", values >= MAX_PRICE)):
            if bool(bad.any()):
                position = int(bad.argmax())
                raise DataError(f"{source}: {rows.name(position)}, column {column!r}: price {float(values[position])!r} "
                                f"is {problem}")
    inverted = (out["high"] < out["low"]).to_numpy()
    if bool(inverted.any()):
        position = int(inverted.argmax())
        raise DataError(f"{source}: {rows.name(position)}, column 'high': high {float(out['high'].iloc[position])!r} "
                        f"is below low {float(out['low'].iloc[position])!r}")
    volume = out["volume"].to_numpy()
    for problem, bad in (("not finite", ~np.isfinite(volume)), ("negative", volume < 0)):
        if bool(bad.any()):
            position = int(bad.argmax())
            raise DataError(f"{source}: {rows.name(position)}, column 'volume': volume {float(volume[position])!r} "
                            f"is {problem}")


def _skip_null_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    if "adjclose" not in frame.columns:
        raise DataError(f"{source}: adjust='yahoo' needs an 'Adj Close' column (Yahoo layout); "
                        "use adjust='raw' for other files")
    columns = [c for c in (*PRICE_COLUMNS, "adjclose", "volume") if c in frame.columns]
    null = (frame[columns].astype(str) == "null").any(axis=1)
    return frame[~null.to_numpy()]


def _adjust_like_yahoo(out: pd.DataFrame, frame: pd.DataFrame, source: str, rows: _RowNames) -> pd.DataFrame:
    # Backtrader's YahooFinanceCSVData._loadline, value by value and in the same float operations.
    adjusted = _numbers(frame["adjclose"], "adjclose", source, rows, required=True).to_numpy()
    bad = ~np.isfinite(adjusted) | (adjusted <= 0)
    if bool(bad.any()):
        position = int(bad.argmax())
        raise DataError(f"{source}: {rows.name(position)}, column 'Adj Close': {float(adjusted[position])!r} is not "
                        "a finite price above 0")
    columns: dict[str, list[float]] = {name: [] for name in ("open", "high", "low", "close", "volume")}
    for o, h, low, c, v, adj in zip(out["open"].tolist(), out["high"].tolist(), out["low"].tolist(),
                                     out["close"].tolist(), out["volume"].tolist(), adjusted.tolist(), strict=True):
        factor = c / adj
        columns["open"].append(round(o / factor, 2))
        columns["high"].append(round(h / factor, 2))
        columns["low"].append(round(low / factor, 2))
        columns["close"].append(round(adj, 2))
        columns["volume"].append(round(v * factor, 0))
    result = out.copy()
    for name, values in columns.items():
        result[name] = values
    return result


def _time_column(frame: pd.DataFrame) -> str | None:
    if isinstance(frame.index, pd.DatetimeIndex):
        return "index"
    return next((c for c in TIME_COLUMNS if c in frame.columns), None)


def _time_index(frame: pd.DataFrame, source: str) -> pd.DatetimeIndex:
    if isinstance(frame.index, pd.DatetimeIndex):
        index = frame.index
    else:
        column = _time_column(frame)
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


def price_note(frames: Iterable[pd.DataFrame]) -> str:
    """One line for the summary: which prices the run used (see :data:`ADJUST_MODES`)."""
    frames = list(frames)
    if any(frame.attrs.get("adjust") == "yahoo" for frame in frames):
        return ("prices: adjusted by Adj Close and rounded to 2 decimals, as Backtrader's YahooFinanceCSVData "
                "(--adjust yahoo)")
    if any(frame.attrs.get("has_adj_close") for frame in frames):
        return ("prices: raw, as in the files (Adj Close ignored; --adjust yahoo adjusts them as Backtrader's "
                "YahooFinanceCSVData does)")
    return "prices: raw, as in the files"


def symbol_for(path: str | Path) -> str:
    """The feed name used for ``path``: its file stem, upper-cased."""
    return Path(path).stem.upper()


__all__ = ["ADJUST_MODES", "MAX_PRICE", "Adjust", "load_ohlcv", "make_feed", "normalise", "price_note", "symbol_for", "timeframe_of"]
