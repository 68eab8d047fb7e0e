"""Progress of long backtests with tqdm (``tqdm.auto``: a text bar in terminals, a widget in Jupyter).

The bar is an analyzer, so it advances once per bar of the strategy (a
widget in Jupyter when ``ipywidgets`` is installed, else a text bar). It
appears only after ``delay`` seconds (short runs never show it) and only in an
interactive session: :func:`progress_enabled` is true in a terminal (stdout and
stderr both TTYs) and in a Jupyter kernel, false when output goes to a pipe, a
file or CI logs. The wall clock is read by tqdm for display only; it never
reaches the simulator, so results stay deterministic.
"""

from __future__ import annotations

import sys
import warnings
from typing import IO, Any

import backtrader as bt
from tqdm import TqdmWarning

with warnings.catch_warnings():
    # In Jupyter without ipywidgets tqdm.auto warns and falls back to the text bar: the fallback is fine.
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm


def progress_enabled(stream: IO[str] | None = None) -> bool:
    """True in a Jupyter kernel, or when both stdout and ``stream`` (default stderr) are terminals."""
    if in_notebook():
        return True
    out = stream if stream is not None else sys.stderr
    return _isatty(sys.stdout) and _isatty(out)


def in_notebook() -> bool:
    """True inside a Jupyter (IPython kernel) session."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar(bt.Analyzer):  # type: ignore[misc]
    """A ``tqdm.auto`` bar over the strategy's bars: ``52%|#####     | 262/504 [00:03<00:03, 80.1 bars/s]``.

    Parameters
    ----------
    total : int
        Expected number of bars (the longest feed).
    delay : float
        Seconds of wall-clock time before the bar first appears.
    stream : TextIO or None
        Where a text bar is drawn; None for ``sys.stderr``.
    """

    params = (("total", 0), ("delay", 2.0), ("stream", None))

    def start(self) -> None:
        self._bar: Any = tqdm(total=int(self.p.total) or None, delay=float(self.p.delay), unit="bar",
                              file=self.p.stream or sys.stderr, leave=True, dynamic_ncols=True)
        self._count = 0

    def next(self) -> None:
        self._count += 1
        self._bar.update(1)

    def stop(self) -> None:
        self._bar.close()

    def get_analysis(self) -> dict[str, int]:
        return {"bars": self._count}


__all__ = ["ProgressBar", "in_notebook", "progress_enabled"]
