"""Run every parity scenario on real price data under both brokers.

The test suite runs the scenarios on generated data (it must pass without
anything outside the repository); this tool repeats them on real price files
when you have some, e.g. the Yahoo-layout files of ``../shared/data``:

    python tools/parity_real_data.py ../shared/data/nvda-1999-2014.txt ...
    python tools/parity_real_data.py --minutes 5 ../shared/data/2006-min-005.txt

Daily files are read in Yahoo layout; with ``--minutes N`` files are read as
Backtrader-layout intraday bars of N minutes. It prints "identical" or the
first difference per file and exits 1 on any difference.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import backtrader as bt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from finbot_bt import FinbotBroker
from tests.bt_harness import assert_same, run
from tests.test_broker_parity import SCENARIOS


def main(argv: list[str]) -> int:
    minutes = 0
    if argv[:1] == ["--minutes"]:
        minutes, argv = int(argv[1]), argv[2:]
    failed = 0
    for path in argv:
        def feeds(path: str = path) -> list[Any]:
            if minutes:
                return [bt.feeds.BacktraderCSVData(dataname=path, timeframe=bt.TimeFrame.Minutes,
                                                   compression=minutes, name="A")]
            return [bt.feeds.YahooFinanceCSVData(dataname=path, adjclose=False, name="A")]

        notifications = 0
        for name, plan in SCENARIOS.items():
            expected, got = run(None, feeds, plan), run(FinbotBroker, feeds, plan)
            try:
                assert_same(expected, got)
                notifications += len(expected["log"])
            except AssertionError as exc:
                failed += 1
                print(f"{path} [{name}]: DIFFERENT\n{exc}")
        print(f"{path}: {len(SCENARIOS)} scenarios, {notifications} identical notifications")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
