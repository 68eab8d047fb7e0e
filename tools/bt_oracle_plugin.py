"""Put FinbotBroker where Backtrader builds its default BackBroker (used by tools/bt_oracle.py).

``Cerebro.__init__`` builds its broker as ``BackBroker()``, a name looked up
in ``backtrader.cerebro``; :func:`install` rebinds that name (and
``bt.brokers.BackBroker``) to ``FinbotBroker`` and wraps ``Cerebro.run`` so that every run checks that the
swap took effect (it raises ``AssertionError`` otherwise) and is counted.
As a pytest plugin (``-p bt_oracle_plugin``) it installs itself when
``BT_ORACLE_BROKER=finbot``; with any broker it reports the runs seen.
:func:`prepare` does the same for a sample script and turns plotting off.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any

import backtrader as bt
import backtrader.cerebro

from finbot_bt import FinbotBroker

RUNS = {"finbot": 0, "total": 0}
_WANT_FINBOT = os.environ.get("BT_ORACLE_BROKER") == "finbot"


def install() -> None:
    """Make every new ``bt.Cerebro()`` use ``FinbotBroker()`` by default.

    ``bt.brokers.BackBroker`` is rebound too, for scripts (most samples) that
    build ``bt.brokers.BackBroker(**kwargs)`` themselves.
    """
    backtrader.cerebro.BackBroker = FinbotBroker  # type: ignore[attr-defined]
    bt.brokers.BackBroker = FinbotBroker
    bt.brokers.BrokerBack = FinbotBroker


def _count_runs(finbot: bool) -> None:
    original = bt.Cerebro.run

    def run(self: Any, **kwargs: Any) -> Any:
        RUNS["total"] += 1
        if finbot:
            if not isinstance(self._broker, FinbotBroker):
                raise AssertionError(f"broker swap did not take effect: cerebro runs {type(self._broker).__name__}")
            RUNS["finbot"] += 1
        elif isinstance(self._broker, FinbotBroker):
            raise AssertionError("FinbotBroker in a run meant for BackBroker")
        return original(self, **kwargs)

    bt.Cerebro.run = run


def prepare(finbot: bool) -> None:
    """For a sample script: install the swap (if ``finbot``), count runs, never plot."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    if finbot:
        install()
    _count_runs(finbot)
    bt.Cerebro.plot = lambda self, *args, **kwargs: None
    atexit.register(lambda: print(f"[bt_oracle] cerebro runs: {RUNS['total']}, with FinbotBroker: "
                                  f"{RUNS['finbot']}", file=sys.stderr))


def pytest_configure(config: Any) -> None:
    if _WANT_FINBOT:
        install()
    _count_runs(_WANT_FINBOT)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(f"[bt_oracle] cerebro runs: {RUNS['total']}, with FinbotBroker: {RUNS['finbot']}")
