"""Exception hierarchy of finbot_bt.

Exceptions signal programming and configuration mistakes. Business outcomes
(a risk rejection, missing cash, no liquidity, an expiry) are never raised:
they are events with a typed reason code.

::

    FinbotError
    ├── ConfigError              bad configuration (names the field)
    ├── ContractError            a value object built with invalid fields
    │   └── InvalidStateTransition   an order status change the table forbids
    ├── MarketDataError          malformed bar or time going backwards (also a ValueError)
    └── CheckpointError          unreadable, tampered or incompatible checkpoint

Messages name the bad value and how to fix it; :func:`did_you_mean` adds the
nearest valid name to "unknown key" messages.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FinbotError(Exception):
    """Base class of every exception raised by finbot_bt."""


class ConfigError(FinbotError, ValueError):
    """A configuration value is invalid; the message names the field."""


class ContractError(FinbotError, ValueError):
    """A contract (value object) was built with inconsistent fields."""


class InvalidStateTransition(ContractError):
    """An order status change that the transition table does not allow."""


class MarketDataError(FinbotError, ValueError):
    """Malformed market data, or a timestamp earlier than the simulator clock."""


class CheckpointError(FinbotError):
    """A checkpoint cannot be written, read, verified or restored."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the valid name closest to ``word``, or ``""`` when none is close.

    Closeness is :func:`difflib.get_close_matches` (ratio >= 0.6), case-insensitive.
    """
    options = {str(choice).lower(): str(choice) for choice in choices}
    match = difflib.get_close_matches(str(word).lower(), list(options), n=1, cutoff=0.6)
    return f"; did you mean {options[match[0]]!r}?" if match else ""
