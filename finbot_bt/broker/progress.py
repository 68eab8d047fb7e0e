"""A text progress bar for long backtests, shown only on a terminal.

The bar is an analyzer, so it advances once per bar of the strategy. It stays
silent for the first ``delay`` seconds (short runs never show it) and when the
stream is not a TTY. The wall clock is read here for display only; it never
reaches the simulator, so results stay deterministic.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import backtrader as bt

WIDTH = 30


def progress_enabled(stream: TextIO | None = None) -> bool:
    """True when both stdout and ``stream`` (default stderr) are terminals."""
    out = stream if stream is not None else sys.stderr
    return _isatty(sys.stdout) and _isatty(out)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar(bt.Analyzer):  # type: ignore[misc]
    """Draw ``[#####.....]  50%  252/504 bars`` on ``stream`` (stderr by default).

    Parameters
    ----------
    total : int
        Expected number of bars (the longest feed).
    delay : float
        Seconds of wall-clock time before the bar first appears.
    stream : TextIO or None
        Where to draw; None for ``sys.stderr``.
    clock : callable or None
        Monotonic seconds; None for :func:`time.monotonic` (tests pass a fake).
    """

    params = (("total", 0), ("delay", 2.0), ("stream", None), ("clock", None))

    def start(self) -> None:
        self._clock: Callable[[], float] = self.p.clock or time.monotonic
        self._stream: TextIO = self.p.stream or sys.stderr
        self._started = self._clock()
        self._count = 0
        self._drawn = -1

    def next(self) -> None:
        self._count += 1
        if self._clock() - self._started < self.p.delay:
            return
        total = max(int(self.p.total), self._count)
        percent = 100 * self._count // total
        if percent != self._drawn:
            self._drawn = percent
            filled = WIDTH * self._count // total
            bar = "#" * filled + "." * (WIDTH - filled)
            self._stream.write(f"\r[{bar}] {percent:3d}%  {self._count}/{total} bars")
            self._stream.flush()

    def stop(self) -> None:
        if self._drawn >= 0:
            self._stream.write("\n")
            self._stream.flush()

    def get_analysis(self) -> dict[str, int]:
        return {"bars": self._count, "drawn": int(self._drawn >= 0)}


__all__ = ["ProgressBar", "progress_enabled"]
