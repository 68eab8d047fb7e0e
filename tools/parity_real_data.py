"""Run every parity scenario, merged into one plan, on real daily data under both brokers.

The test suite runs the scenarios on generated data (it must pass without
anything outside the repository); this tool repeats them on real price files
when you have some, e.g. the Yahoo-layout files of ``../shared/data``:

    python tools/parity_real_data.py ../shared/data/nvda-1999-2014.txt ...

It prints "identical" or the first difference per file and exits 1 on any difference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import backtrader as bt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from finbot_bt import FinbotBroker
from tests.bt_harness import assert_same, run
from tests.test_broker_parity import SCENARIOS, merge


def main(paths: list[str]) -> int:
    plan = merge(*SCENARIOS.values())
    failed = 0
    for path in paths:
        def feeds(path: str = path) -> list[bt.feeds.YahooFinanceCSVData]:
            return [bt.feeds.YahooFinanceCSVData(dataname=path, adjclose=False, name="A")]

        rich = lambda s: s.broker.set_cash(1_000_000.0)  # noqa: E731
        expected = run(None, feeds, plan, on_start=rich)
        got = run(FinbotBroker, feeds, plan, on_start=rich)
        try:
            assert_same(expected, got)
            print(f"{path}: identical ({len(expected['log'])} notifications)")
        except AssertionError as exc:
            failed += 1
            print(f"{path}: DIFFERENT\n{exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
