"""Running backtests for people: data loading, strategy import, run configs, summaries.

The layer above the broker: it may import ``finbot_bt.broker`` and backtrader;
nothing below it (``contracts``, ``execution``, ``broker``) may import it.
The ``finbot-bt`` command line (:mod:`finbot_bt.cli`), the examples and the
notebooks are built on it.
"""

from finbot_bt.runner.errors import DataError, StrategyImportError

__all__ = ["DataError", "StrategyImportError"]
