"""Regression backtests for CI: named runs compared with stored golden results.

A consumer layer above ``finbot_bt.broker`` (it runs backtests through
:mod:`finbot_bt.sweep`); nothing below may import it. ``finbot-bt regress
suite.toml`` runs a suite, compares each run with its golden JSON within the
suite's explicit tolerances and prints a readable diff on drift;
``--update`` rewrites the goldens.
"""

from finbot_bt.regress.compare import Drift, compare
from finbot_bt.regress.golden import Golden, golden_from_result
from finbot_bt.regress.runner import RegressReport, RunOutcome, run_suite
from finbot_bt.regress.suite import RunSpec, SuiteSpec, Tolerance, load_suite

__all__ = [
    "Drift", "Golden", "RegressReport", "RunOutcome", "RunSpec", "SuiteSpec", "Tolerance", "compare",
    "golden_from_result", "load_suite", "run_suite",
]
