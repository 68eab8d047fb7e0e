"""Reference strategies for sweeps and regression suites, next to the example SmaCross.

:class:`LimitPullback` covers limit orders, expiry and several feeds;
``SmaCross`` covers market orders on one feed. Their job is to exercise the
broker, not to make money. Being Backtrader strategies they live in
:mod:`finbot_bt.broker.strategies`; this module keeps the name configurations
use (``finbot_bt.sweep.strategies:LimitPullback``).
"""

from finbot_bt.broker.strategies import LimitPullback

__all__ = ["LimitPullback"]
