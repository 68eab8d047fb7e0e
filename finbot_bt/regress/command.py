"""``finbot-bt regress``: the command-line end of regression suites.

``cli.py`` owns the parser; :func:`regress_command` runs the suite, prints the
report and returns the exit status (0 ok; 7 drift, a missing golden or a failed
run, as ``finbot_bt.cli.ExitCode.REGRESSION``).
"""

from __future__ import annotations

import argparse

from finbot_bt.regress.runner import run_suite

REGRESSION_EXIT = 7


def regress_command(args: argparse.Namespace) -> int:
    """Run the suite ``args.suite``; print the report; 7 on drift, missing golden or failed run."""
    only = set(args.run) if args.run else None
    report = run_suite(args.suite, update=args.update, only=only)
    print(report.format())
    return 0 if report.ok else REGRESSION_EXIT


__all__ = ["REGRESSION_EXIT", "regress_command"]
