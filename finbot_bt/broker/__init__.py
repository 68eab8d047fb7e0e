"""The Backtrader adapter: the only package of finbot_bt that imports backtrader.

``FinbotBroker`` translates Backtrader orders into core contracts, feeds the
simulator each bar, and turns core events back into Backtrader notifications.
"""

from finbot_bt.broker.broker import FinbotBroker

__all__ = ["FinbotBroker"]
