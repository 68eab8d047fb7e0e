"""Backtrader orders built and cloned without Backtrader's metaclass machinery.

A ``bt.BuyOrder(...)`` goes through ``MetaParams`` (params class lookups, package
imports, five ``do*`` hooks) and ``OrderBase.__init__``, whose every attribute read
falls back to ``Order.__getattr__``; ``order.clone()`` goes through ``copy.copy``
twice. Both run several times an order, so the broker builds the same objects
directly: :func:`new_order` gives an order whose class, ``__dict__`` (keys in the
same order), params object and ``created``/``executed`` data are exactly those
the genuine constructor gives, drawing its ``ref`` from the same counter; anything
it does not cover (another order class, ``simulated``, unusual argument types, a
data with no bar yet) goes through the genuine constructor. :func:`clone_order`
is ``bt.Order.clone()`` done directly. ``tests/test_broker_fast_orders.py``
compares both with Backtrader's own over many argument combinations.
"""

from __future__ import annotations

import collections
import datetime as _dt
from typing import Any

import backtrader as bt
from backtrader.feed import AbstractDataBase
from backtrader.linebuffer import LineBuffer
from backtrader.order import OrderData
from backtrader.utils import AutoOrderedDict

_NUMBER = (int, float)
_FAST_CLASSES = (bt.BuyOrder, bt.SellOrder)
_TRAILING = (bt.Order.StopTrail, bt.Order.StopTrailLimit)
_DAY_END = _dt.time(23, 59, 59, 9999)
_ONE_DAY = _dt.timedelta(days=1)
_FEED_DATE2NUM = AbstractDataBase.date2num
_LINE_DATETIME = LineBuffer.datetime
_new = object.__new__
_deque = collections.deque


def _params_layout(cls: Any) -> tuple[Any, tuple[tuple[str, Any], ...]] | None:
    # What MetaParams.donew does for cls, if it is only the params (no packages, no recursion).
    if cls.packages or cls.frompackages or cls.params._getrecurse() or cls.__new__ is not object.__new__:
        return None
    return cls.params, tuple(cls.params._getitems())


_LAYOUTS = {cls: _params_layout(cls) for cls in _FAST_CLASSES}


def _order_data(dt: Any = None, size: Any = 0, price: Any = 0.0, pricelimit: Any = 0.0, remsize: Any = 0,
                pclose: Any = 0.0, trailamount: Any = 0.0, trailpercent: Any = 0.0) -> Any:
    # OrderData.__init__'s state, keys in its order of assignment.
    obj = _new(OrderData)
    obj.__dict__.update({
        "pclose": pclose, "exbits": _deque(), "p1": 0, "p2": 0, "dt": dt, "size": size, "remsize": remsize,
        "price": pricelimit if pricelimit and not price else price,
        "pricelimit": pricelimit if pricelimit else price,
        "trailamount": trailamount, "trailpercent": trailpercent, "_plimit": pricelimit,
        "value": 0.0, "comm": 0.0, "margin": None, "pnl": 0.0, "psize": 0, "pprice": 0,
    })
    return obj


def _optional_number(value: Any) -> bool:
    return value is None or isinstance(value, _NUMBER)


class OrderFactory:
    """Builds ``bt.BuyOrder``/``bt.SellOrder`` objects as their constructor does, faster.

    Orders placed on the same bar of a data share their end of session
    (``dteos``): it is converted once per data and bar.
    """

    __slots__ = ("_dteos",)

    def __init__(self) -> None:
        # data -> (datetime number, session end, timezone, dteos)
        self._dteos: dict[Any, tuple[float, Any, Any, float]] = {}

    def new_order(self, cls: Any, params: dict[str, Any]) -> Any:
        """``cls(**params)``, built directly when the arguments are ones it covers."""
        layout = _LAYOUTS.get(cls)
        if layout is None or not self._covers(params):
            return cls(**params)
        pcls, items = layout
        p = _new(pcls)
        pd = p.__dict__
        for name, default in items:
            pd[name] = params.get(name, default)
        obj = _new(cls)
        d = obj.__dict__
        d["params"] = p
        d["p"] = p
        d["ref"] = next(cls.refbasis)
        d["broker"] = None
        d["info"] = AutoOrderedDict()
        d["comminfo"] = None
        d["triggered"] = False
        d["_active"] = pd["parent"] is None
        d["status"] = bt.Order.Created
        price, pricelimit = pd["price"], pd["pricelimit"]
        d["_plimit"] = pricelimit
        exectype = pd["exectype"]
        if exectype is None:
            exectype = d["exectype"] = bt.Order.Market
        size = pd["size"]
        if cls.ordtype != bt.Order.Buy:
            size = d["size"] = -size
        data = pd["data"]
        pclose = data.close[0]
        dtline = data.datetime
        dtnum = dtline[0]
        created = d["created"] = _order_data(
            dt=dtnum, size=size, price=pclose if not price and not pricelimit else price, pricelimit=pricelimit,
            pclose=pclose, trailamount=pd["trailamount"], trailpercent=pd["trailpercent"])
        if exectype in _TRAILING:
            d["_limitoffset"] = created.price - created.pricelimit
            price = created.price
            created.price = float("inf" * (cls.ordtype == bt.Order.Buy) or "-inf")
            obj.trailadjust(price)
        else:
            d["_limitoffset"] = 0.0
        d["executed"] = _order_data(remsize=size)
        d["position"] = 0
        valid = pd["valid"]
        if isinstance(valid, _dt.date):
            d["valid"] = data.date2num(valid)
        elif isinstance(valid, _dt.timedelta):
            if valid == bt.Order.DAY:
                end = _dt.datetime.combine(dtline.date(), _DAY_END)
            else:
                end = dtline.datetime() + valid
            d["valid"] = data.date2num(end)
        d["dteos"] = self._end_of_session(data, dtline, dtnum)
        return obj

    @staticmethod
    def _covers(params: dict[str, Any]) -> bool:
        # Everything else (simulated orders, other argument types, a data with no bar) takes the
        # genuine constructor, with whatever it does.
        if params.keys() - _PARAM_NAMES or params.get("simulated"):
            return False
        exectype = params.get("exectype")
        if exectype is not None and (type(exectype) is not int or not 0 <= exectype <= bt.Order.Historical):
            return False
        valid = params.get("valid")
        if not (valid is None or isinstance(valid, (int, float, _dt.date, _dt.timedelta))):
            return False
        if not (isinstance(params.get("size"), _NUMBER) and _optional_number(params.get("price"))
                and _optional_number(params.get("pricelimit")) and _optional_number(params.get("trailamount"))
                and _optional_number(params.get("trailpercent"))):
            return False
        data = params.get("data")
        return (isinstance(data, AbstractDataBase) and type(data).date2num is _FEED_DATE2NUM
                and type(data.datetime).datetime is _LINE_DATETIME and len(data) > 0
                and isinstance(data.p.sessionend, _dt.time))

    def _end_of_session(self, data: Any, dtline: Any, dtnum: float) -> float:
        # OrderBase.__init__'s provisional end of session, memoised per data and bar.
        session, tz = data.p.sessionend, data._tz
        memo = self._dteos.get(data)
        if memo is not None and memo[0] == dtnum and memo[1] is session and memo[2] is tz:
            return memo[3]
        dtime = dtline.datetime(0)
        dteos = dtime.replace(hour=session.hour, minute=session.minute, second=session.second,
                              microsecond=session.microsecond)
        if dteos < dtime:
            dteos += _ONE_DAY
        value: float = data.date2num(dteos)
        self._dteos[data] = (dtnum, session, tz, value)
        return value


_PARAM_NAMES = frozenset(bt.Order.params._getkeys())


def clone_order(order: Any) -> Any:
    """``order.clone()`` (a shallow copy whose ``executed`` is ``executed.clone()``), done directly."""
    cls = type(order)
    executed = order.executed
    if (cls is not bt.BuyOrder and cls is not bt.SellOrder) or type(executed) is not OrderData:
        return order.clone()
    obj = _new(cls)
    obj.__dict__.update(order.__dict__)
    executed.p1, executed.p2 = executed.p2, len(executed.exbits)
    copy = _new(OrderData)
    copy.__dict__.update(executed.__dict__)
    obj.__dict__["executed"] = copy
    return obj
