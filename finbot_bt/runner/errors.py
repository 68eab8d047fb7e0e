"""Errors of the runner layer (both are :class:`~finbot_bt.errors.FinbotError`).

::

    FinbotError
    ├── DataError              a data file is missing, unreadable or not OHLCV
    └── StrategyImportError    a strategy spec does not name an importable Strategy
"""

from __future__ import annotations

from finbot_bt.errors import FinbotError


class DataError(FinbotError):
    """A data file is missing, unreadable or lacks OHLC columns; the message names the file."""


class StrategyImportError(FinbotError):
    """``file.py:Class`` or ``module:Class`` does not import or is not a ``bt.Strategy``."""
