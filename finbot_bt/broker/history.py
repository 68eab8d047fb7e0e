"""Order history (``cerebro.add_order_history``): past trades replayed as ``Historical`` orders.

As BackBroker: each ``[datetime, size, price(, data)]`` entry becomes an order of
the first strategy when its data reaches the datetime, accepted without checks
and filled at its price.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import backtrader as bt


class OrderHistory:
    """The histories given to a broker, each read in time order as the feeds advance.

    ``entries`` holds one ``[next entry, iterator, notify]`` per history (kept
    across ``start()``, as BackBroker).
    """

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[list[Any]] = []

    def add(self, orders: Any, notify: bool) -> None:
        iterator = iter(orders)
        self.entries.append([next(iterator, None), iterator, notify])

    def place_due(self, broker: Any) -> None:
        """Place, through ``broker.buy``/``sell``, every entry whose data has reached its datetime."""
        cerebro = broker.cerebro
        for history in self.entries:
            entry, entries, notify = history
            while entry is not None:
                entry = list(entry)
                index = entry[3] if len(entry) > 3 else None
                if index is None:
                    data = cerebro.datas[0]
                elif isinstance(index, int):
                    data = cerebro.datas[index]
                else:
                    data = cerebro.datasbyname[index]
                if not len(data) or history_time(entry[0]) > data.datetime.datetime():
                    break  # not yet: the history is in time order
                size, price = entry[1], entry[2]
                method = broker.buy if size > 0 else broker.sell
                if size:
                    method(owner=cerebro.runningstrats[0], data=data, size=abs(size), price=price,
                           exectype=bt.Order.Historical, histnotify=notify, _checksubmit=False)
                history[0] = entry = next(entries, None)


def history_time(value: Any) -> datetime:
    """An entry's datetime in BackBroker's formats: a datetime, a date, or ``YYYY-MM-DD[THH:MM:SS[.us]]``."""
    if isinstance(value, str):
        fmt = "%Y-%m-%d"
        if "T" in value:
            fmt += "T%H:%M:%S" + (".%f" if "." in value else "")
        return datetime.strptime(value, fmt)
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)
