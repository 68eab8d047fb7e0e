"""finbot_bt: a paper-trading execution simulator that plugs into Backtrader as a broker.

Layers (dependencies point one way): ``contracts`` <- ``execution`` <-
``broker`` (the only package importing backtrader). ``FinbotBroker`` is
imported lazily so that ``import finbot_bt.execution`` never loads backtrader.

The hot modules of ``execution`` may run compiled (mypyc, see ``setup.py``):
:func:`compiled_modules` lists those that do in this process; ``FINBOT_BT_PURE=1``
runs the pure-Python sources instead (:mod:`finbot_bt._native`).
"""

from __future__ import annotations

from typing import Any

from finbot_bt import _native
from finbot_bt._native import compiled_modules

__version__ = "0.1.0"

__all__ = ["FinbotBroker", "__version__", "compiled_modules"]

_native.activate()  # before anything imports a module that may be compiled


def __getattr__(name: str) -> Any:
    if name == "FinbotBroker":
        from finbot_bt.broker import FinbotBroker

        return FinbotBroker
    raise AttributeError(f"module 'finbot_bt' has no attribute {name!r}")
