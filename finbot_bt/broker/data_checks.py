"""Checks of the data feeds at the start of a run, reported as warnings (never errors).

A volume cap (:mod:`finbot_bt.execution.fills`, or a Backtrader filler) fills
nothing on a bar with zero volume. Many FX and index files carry volume 0 on
every bar, so under a cap their orders stay accepted forever and nothing says
why. :func:`warn_zero_volume` looks at the bars loaded at the first bar of a
run (every bar for preloaded feeds, cerebro's default) and warns once per feed.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable
from typing import Any


class ZeroVolumeWarning(UserWarning):
    """A volume cap is on and a feed has no volume: its orders can never fill."""


def _name(data: Any, position: int) -> str:
    name = getattr(data, "_name", "") or ""
    return str(name) if name else f"data{position}"


def feed_has_no_volume(data: Any) -> int:
    """The number of loaded bars of ``data`` if every one has volume 0 (or NaN), else 0."""
    length = int(data.buflen())
    if length <= 0:
        return 0
    volumes = itertools.islice(data.volume.array, length)  # an array, or a deque with exactbars
    if all(v == 0 or math.isnan(v) for v in volumes):
        return length
    return 0


def warn_zero_volume(datas: Iterable[Any], volume_cap: Any) -> tuple[str, ...]:
    """Warn (:class:`ZeroVolumeWarning`) for each feed without volume when ``volume_cap`` is set.

    Returns the messages, one per such feed (empty without a cap).
    """
    if volume_cap is None:
        return ()
    cap = type(volume_cap).__name__
    messages: list[str] = []
    for position, data in enumerate(datas):
        bars = feed_has_no_volume(data)
        if bars:
            message = (f"feed {_name(data, position)!r} has volume 0 on all {bars} loaded bars and a volume cap "
                       f"({cap}) is on: its orders will never fill; remove the cap or use data with volume")
            warnings.warn(message, ZeroVolumeWarning, stacklevel=3)
            messages.append(message)
    return tuple(messages)


__all__ = ["ZeroVolumeWarning", "feed_has_no_volume", "warn_zero_volume"]
