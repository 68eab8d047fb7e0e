"""finbot_bt: a paper-trading execution simulator that plugs into Backtrader as a broker.

Layers (dependencies point one way): ``contracts`` <- ``execution`` <-
``broker`` (the only package importing backtrader). ``FinbotBroker`` is
imported lazily so that ``import finbot_bt.execution`` never loads backtrader.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["FinbotBroker", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "FinbotBroker":
        from finbot_bt.broker import FinbotBroker

        return FinbotBroker
    raise AttributeError(f"module 'finbot_bt' has no attribute {name!r}")
