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
from collections.abc import Callable
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


def _params_layout(cls: Any) -> tuple[Any, dict[str, Any]] | None:
    # What MetaParams.donew does for cls, if it is only the params (no packages, no recursion).
    if cls.packages or cls.frompackages or cls.params._getrecurse() or cls.__new__ is not object.__new__:
        return None
    return cls.params, dict(cls.params._getitems())


_PARAM_NAMES = frozenset(bt.Order.params._getkeys())

# OrderData.__init__'s state with its defaults, keys in its order of assignment (exbits: a new deque).
_ORDER_DATA: dict[str, Any] = {
    "pclose": 0.0, "exbits": None, "p1": 0, "p2": 0, "dt": None, "size": 0, "remsize": 0, "price": 0.0,
    "pricelimit": 0.0, "trailamount": 0.0, "trailpercent": 0.0, "_plimit": 0.0, "value": 0.0, "comm": 0.0,
    "margin": None, "pnl": 0.0, "psize": 0, "pprice": 0,
}

# The state built here is Backtrader 1.9.78.123's (its last release); any other version builds its own.
ENABLED = bt.__version__ == "1.9.78.123" and {**OrderData().__dict__, "exbits": None} == _ORDER_DATA
_LAYOUTS = {cls: layout for cls in _FAST_CLASSES if ENABLED and (layout := _params_layout(cls)) is not None}


def _executed_data(remsize: Any) -> Any:
    # OrderData(remsize=remsize)
    obj = _new(OrderData)
    state = _ORDER_DATA.copy()
    state["exbits"] = _deque()
    state["remsize"] = remsize
    obj.__dict__ = state
    return obj


def _created_data(dt: Any, size: Any, price: Any, pricelimit: Any, pclose: Any, trailamount: Any,
                  trailpercent: Any) -> Any:
    # OrderData(dt=..., size=..., price=..., pricelimit=..., pclose=..., trailamount=..., trailpercent=...)
    obj = _new(OrderData)
    state = _ORDER_DATA.copy()
    state["pclose"] = pclose
    state["exbits"] = _deque()
    state["dt"] = dt
    state["size"] = size
    state["price"] = pricelimit if pricelimit and not price else price
    state["pricelimit"] = pricelimit if pricelimit else price
    state["trailamount"] = trailamount
    state["trailpercent"] = trailpercent
    state["_plimit"] = pricelimit
    obj.__dict__ = state
    return obj


def _covers_values(params: dict[str, Any]) -> bool:
    # Argument values the direct build handles; the rest (simulated orders, other types) go to Backtrader.
    get = params.get
    if get("simulated") or not params.keys() <= _PARAM_NAMES:
        return False
    exectype = get("exectype")
    if exectype is not None and (type(exectype) is not int or not 0 <= exectype <= bt.Order.Historical):
        return False
    valid = get("valid")
    if valid is not None and not isinstance(valid, _VALID_TYPES):
        return False
    if not isinstance(get("size"), _NUMBER):
        return False
    for name in ("price", "pricelimit", "trailamount", "trailpercent"):
        value = get(name)
        if value is not None and not isinstance(value, _NUMBER):
            return False
    return True


_VALID_TYPES = (int, float, _dt.date, _dt.timedelta)


class OrderFactory:
    """Builds ``bt.BuyOrder``/``bt.SellOrder`` objects as their constructor does, faster.

    ``stamp`` is the broker's ``line.datetime(0)`` (remembered per bar). Orders
    placed on the same bar of a data share their end of session (``dteos``): it
    is converted once per data and bar.
    """

    __slots__ = ("_dates", "_dteos", "_lines", "_stamp")

    def __init__(self, stamp: Callable[[Any], _dt.datetime] | None = None) -> None:
        self._stamp = stamp or _LINE_DATETIME
        # data -> (datetime number, session end, timezone, dteos)
        self._dteos: dict[Any, tuple[float, Any, Any, float]] = {}
        # (date or datetime, its type, timezone) -> data.date2num of it: orders often share a validity
        self._dates: dict[tuple[Any, Any, Any], float] = {}
        # data -> its (close, datetime) lines, or None if the direct build does not cover it
        self._lines: dict[Any, tuple[Any, Any] | None] = {}

    def new_order(self, cls: Any, params: dict[str, Any]) -> Any:
        """``cls(**params)``, built directly when the arguments are ones it covers."""
        layout = _LAYOUTS.get(cls)
        if layout is None or not _covers_values(params):
            return cls(**params)
        lines = self._data_lines(params.get("data"))
        if lines is None:
            return cls(**params)
        pcls, defaults = layout
        p = _new(pcls)
        p.__dict__ = pd = {**defaults, **params}
        obj = _new(cls)
        isbuy = cls.ordtype == bt.Order.Buy
        d = {"params": p, "p": p, "ref": next(cls.refbasis), "broker": None, "info": AutoOrderedDict(),
             "comminfo": None, "triggered": False, "_active": pd["parent"] is None, "status": bt.Order.Created}
        price, pricelimit = pd["price"], pd["pricelimit"]
        d["_plimit"] = pricelimit
        exectype = pd["exectype"]
        if exectype is None:
            exectype = d["exectype"] = bt.Order.Market
        size = pd["size"]
        if not isbuy:
            size = d["size"] = -size
        data = pd["data"]
        close, dtline = lines
        pclose = close[0]
        dtnum = dtline[0]
        created = d["created"] = _created_data(
            dtnum, size, pclose if not price and not pricelimit else price, pricelimit, pclose,
            pd["trailamount"], pd["trailpercent"])
        trailing = exectype in _TRAILING
        d["_limitoffset"] = created.price - created.pricelimit if trailing else 0.0
        obj.__dict__ = d
        if trailing:
            price = created.price
            created.price = float("inf" * isbuy or "-inf")
            obj.trailadjust(price)
        d["executed"] = _executed_data(size)
        d["position"] = 0
        valid = pd["valid"]
        if isinstance(valid, _dt.date):
            d["valid"] = self._date2num(data, valid)
        elif isinstance(valid, _dt.timedelta):
            if valid == bt.Order.DAY:
                end = _dt.datetime.combine(dtline.date(), _DAY_END)
            else:
                end = dtline.datetime() + valid
            d["valid"] = data.date2num(end)
        d["dteos"] = self._end_of_session(data, dtline, dtnum)
        return obj

    def covers(self, cls: Any, params: dict[str, Any]) -> bool:
        """True if :meth:`new_order` builds ``cls(**params)`` itself (else Backtrader does)."""
        return cls in _LAYOUTS and _covers_values(params) and self._data_lines(params.get("data")) is not None

    def _data_lines(self, data: Any) -> tuple[Any, Any] | None:
        # A data feed with bars, whose datetime conversions are Backtrader's own (so dteos can be shared).
        if not isinstance(data, AbstractDataBase):
            return None
        try:
            lines = self._lines[data]
        except KeyError:
            lines = self._lines[data] = (
                (data.close, data.datetime)
                if type(data).date2num is _FEED_DATE2NUM and type(data.datetime).datetime is _LINE_DATETIME
                else None)
        if lines is None or not len(data) or not isinstance(data.p.sessionend, _dt.time):
            return None
        return lines

    def _date2num(self, data: Any, value: _dt.date) -> float:
        key = (value, type(value), data._tz)
        num = self._dates.get(key)
        if num is None:
            if len(self._dates) > 256:
                self._dates.clear()
            num = self._dates[key] = data.date2num(value)
        return num

    def _end_of_session(self, data: Any, dtline: Any, dtnum: float) -> float:
        # OrderBase.__init__'s provisional end of session, memoised per data and bar.
        session, tz = data.p.sessionend, data._tz
        memo = self._dteos.get(data)
        if memo is not None and memo[0] == dtnum and memo[1] is session and memo[2] is tz:
            return memo[3]
        dtime = self._stamp(dtline)
        dteos = dtime.replace(hour=session.hour, minute=session.minute, second=session.second,
                              microsecond=session.microsecond)
        if dteos < dtime:
            dteos += _ONE_DAY
        value: float = data.date2num(dteos)
        self._dteos[data] = (dtnum, session, tz, value)
        return value


def order_param(order: Any, name: str) -> Any:
    """``getattr(order, name)`` for one of a bt order's parameters, without ``Order.__getattr__``'s detour.

    As Backtrader reads it: the order's own attribute if it has one (``exectype``,
    ``size``, ``valid`` may be set on it), else its params' value.
    """
    state = order.__dict__
    if name in state:
        return state[name]
    if type(order) is bt.BuyOrder or type(order) is bt.SellOrder:
        return getattr(state["params"], name)
    return getattr(order, name)


def mark_submitted(order: Any, data: Any) -> None:
    """``order.submit()`` of an order on ``data`` (its ``order.data``)."""
    if (type(order) is bt.BuyOrder or type(order) is bt.SellOrder) and ENABLED:
        state = order.__dict__
        state["status"] = bt.Order.Submitted
        state["broker"] = None
        state["plen"] = len(data)
    else:
        order.submit()


def clone_order(order: Any) -> Any:
    """``order.clone()`` (a shallow copy whose ``executed`` is ``executed.clone()``), done directly."""
    cls = type(order)
    executed = order.executed
    if (cls is not bt.BuyOrder and cls is not bt.SellOrder) or type(executed) is not OrderData or not ENABLED:
        return order.clone()
    obj = _new(cls)
    state = order.__dict__.copy()
    executed.p1, executed.p2 = executed.p2, len(executed.exbits)
    copy = _new(OrderData)
    copy.__dict__ = executed.__dict__.copy()
    state["executed"] = copy
    obj.__dict__ = state
    return obj
