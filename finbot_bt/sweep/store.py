"""Incremental Parquet results: a directory of part files that a sweep appends to.

``results.parquet/`` holds ``part-<n>.parquet`` files, each written to a
temporary name and renamed into place, so an interrupted sweep leaves only
complete parts behind. On restart the sweep reads the finished cell keys and
skips those cells. ``pandas.read_parquet`` also reads the directory, but
:meth:`ResultStore.read` is preferred: it tolerates parts with different
parameter columns and keeps the last row written for each cell.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from finbot_bt.errors import ConfigError
from finbot_bt.sweep.metrics import results_frame


class ResultStore:
    """Append-only store of result rows under the directory ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"results path {str(self.path)!r} is a file; give a directory (it is created)")
        self.path.mkdir(parents=True, exist_ok=True)
        self._count = len(self._parts())

    def _parts(self) -> list[Path]:
        return sorted(self.path.glob("part-*.parquet"))

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write ``rows`` as one new part file (atomically: temp file, then rename)."""
        frame = results_frame(rows)
        if frame.empty:
            return
        for column in frame.columns:
            if frame[column].dtype == object and not _uniform(frame[column]):
                frame[column] = frame[column].map(lambda v: None if v is None else str(v))
        self._count += 1
        final = self.path / f"part-{self._count:06d}-{uuid.uuid4().hex[:8]}.parquet"
        temp = final.with_suffix(".tmp")
        frame.to_parquet(temp, engine="pyarrow", index=False)
        os.replace(temp, final)

    def read(self) -> pd.DataFrame:
        """Every stored row (the last one per cell key), as the canonical results table."""
        parts = [pd.read_parquet(p, engine="pyarrow") for p in self._parts()]
        parts = [p for p in parts if not p.empty]
        if not parts:
            return results_frame([])
        frame = pd.concat(parts, ignore_index=True).drop_duplicates("cell_key", keep="last")
        return results_frame(frame.to_dict("records"))

    def finished(self, retry_errors: bool = False) -> set[str]:
        """Keys of the cells already stored (only successful ones with ``retry_errors``)."""
        frame = self.read()
        if frame.empty:
            return set()
        if retry_errors:
            frame = frame[frame["status"] == "ok"]
        return set(frame["cell_key"])


def _uniform(column: pd.Series) -> bool:
    kinds = {type(v) for v in column if v is not None and not (isinstance(v, float) and v != v)}
    return len(kinds) <= 1


__all__ = ["ResultStore"]
