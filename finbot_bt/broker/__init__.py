"""The Backtrader adapter: the only package of finbot_bt that imports backtrader.

``FinbotBroker`` translates Backtrader orders into core contracts, feeds the
simulator each bar, and turns core events back into Backtrader notifications.
The layers above (runner, sweeps, reports) reach Backtrader through
:mod:`finbot_bt.broker.engine` (feeds, runs, trade logs),
:mod:`finbot_bt.broker.strategies` (the bundled strategies) and
:mod:`finbot_bt.broker.progress`.
"""

from finbot_bt.broker.broker import FinbotBroker

__all__ = ["FinbotBroker"]
