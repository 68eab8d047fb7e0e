"""Parity fuzzer, part 1: random scenarios (bar data, broker setup, actions) from a seed.

A :class:`Scenario` is plain data (its ``repr`` is valid Python), so a failing
seed prints as a standalone reproduction. :func:`generate` draws one from a
seed and a :class:`Mix`, whose switches turn a class of features off to
isolate a cause. ``tests/parity_fuzz_check.py`` runs a scenario under
BackBroker and FinbotBroker, compares the runs and shrinks failures.

Deliberate differences (numbered as in the table of docs/differences.md) are
kept out by construction:

- #1 cancel on the creation bar: cancels are drawn only for orders of earlier bars;
- #3 slipped StopLimit/limit fills: with slippage on, no StopLimit/StopTrailLimit, and
  with ``slip_out`` no Limit orders or brackets;
- #4, #6, #7: the strategy never calls ``orderstatus`` or ``getvalue(datas=[a, b])``;
- #5 children attached to filled parents: children are created with their parent;
- #8 and the "Not supported" list: valid prices and sizes only, no interest,
  no leverage, no replay, no ``compensate``, bars with open/close inside high/low;
- #9 ``order.info`` of refused orders: not recorded;
- #10 exact Decimal vs binary float: every price, offset, trail, slippage and
  filler step lies on a grid of 1/16 and percentages are dyadic (1/64...), so
  float arithmetic is exact and a touch is a touch for both brokers.

#2 (a cash refusal at submission consumes the running check's cash) cannot be
ruled out by construction; the comparator recognises it precisely (see
``parity_fuzz_check.deliberate``).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

TICK = 1 / 16
EXECTYPES = ("Market", "Close", "Limit", "Stop", "StopLimit", "StopTrail", "StopTrailLimit")
MODES: tuple[dict[str, Any], ...] = (
    dict(runonce=True, preload=True, exactbars=False),
    dict(runonce=False, preload=True, exactbars=False),
    dict(runonce=False, preload=False, exactbars=False),
    dict(runonce=True, preload=True, exactbars=-1),
    dict(runonce=True, preload=True, exactbars=-2),
    dict(runonce=False, preload=False, exactbars=-2),
    dict(runonce=True, preload=True, exactbars=1),
    dict(runonce=True, preload=True, exactbars=False, stdstats=False),
)


@dataclass(frozen=True)
class Mix:
    """Which features the generator may draw; switch one off to isolate a cause."""

    market: bool = True
    close_orders: bool = True
    limit: bool = True
    stop: bool = True
    stop_limit: bool = True
    trailing: bool = True
    valid: bool = True
    cancels: bool = True
    oco: bool = True
    brackets: bool = True
    manual_brackets: bool = True
    child_cancels: bool = True
    targets: bool = True
    close: bool = True
    cheat_on_open: bool = True
    cheat_on_close: bool = True
    slippage: bool = True
    fillers: bool = True
    commissions: bool = True
    futures: bool = True
    cash_changes: bool = True
    tight_cash: bool = True
    multi_feed: bool = True
    calendars: bool = True
    intraday: bool = True
    undeclared_timeframe: bool = True
    csv: bool = True
    modes: bool = True

    @classmethod
    def without(cls, names: str) -> Mix:
        """``Mix.without("brackets,oco")``: everything but the named features."""
        off = {n.strip() for n in names.split(",") if n.strip()}
        unknown = off - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown mix feature(s) {sorted(unknown)}; known: "
                             f"{[f.name for f in dataclasses.fields(cls)]}")
        return cls(**{n: False for n in off})


@dataclass(frozen=True)
class FeedSpec:
    """One generated feed: a random walk on the 1/16 grid."""

    name: str
    seed: int
    bars: int
    minutes: int = 0                 # 0: daily bars; else intraday bars of this many minutes
    declare_timeframe: bool = True   # intraday only: False leaves the feed at its default (daily)
    csv: bool = False                # daily only: Backtrader CSV file instead of a pandas frame
    drop: tuple[int, ...] = ()       # row numbers left out (holidays, missing bars)
    start_offset: int = 0            # days (daily) or bars (intraday) after the common start
    zero_volume: float = 0.05        # share of zero-volume bars
    bars_per_day: int = 12           # intraday only


@dataclass(frozen=True)
class Act:
    """One strategy action: on strategy bar ``bar`` in ``next`` (or ``next_open``)."""

    bar: int
    kind: str
    args: tuple[tuple[str, Any], ...] = ()
    phase: str = "next"

    def arg(self, name: str, default: Any = None) -> Any:
        return dict(self.args).get(name, default)


@dataclass(frozen=True)
class Scenario:
    """Everything one fuzz run needs; ``repr`` is a runnable reproduction."""

    seed: int
    feeds: tuple[FeedSpec, ...]
    actions: tuple[Act, ...]
    cash: float = 10000.0
    mode: tuple[tuple[str, Any], ...] = ()
    cheat_on_open: bool = False
    coc: bool = False
    slippage: tuple[tuple[str, Any], ...] = ()
    filler: tuple[tuple[str, Any], ...] = ()
    commission: tuple[tuple[tuple[str, Any], ...], ...] = ()
    notes: tuple[str, ...] = field(default=())


def _walk(spec: FeedSpec) -> pd.DataFrame:
    rng = random.Random(spec.seed)
    ticks = rng.randint(800, 2400)   # price in ticks of 1/16: 50 to 150
    rows = []
    if spec.minutes:
        day = datetime(2022, 3, 1)
        slot = spec.start_offset
    else:
        day = datetime(2021, 1, 4) + timedelta(days=spec.start_offset)
    for i in range(spec.bars):
        if spec.minutes:
            while slot >= spec.bars_per_day:
                slot -= spec.bars_per_day
                day += timedelta(days=1)
                while day.weekday() >= 5:
                    day += timedelta(days=1)
            ts = day + timedelta(hours=9, minutes=30 + spec.minutes * slot)
            slot += 1
        else:
            while day.weekday() >= 5:
                day += timedelta(days=1)
            ts = day
            day += timedelta(days=1)
        gap = rng.choice((0, 0, 0, 1, -1, 2, -2, rng.randint(-30, 30)))
        open_ = max(40, ticks + gap)
        close = max(40, open_ + int(rng.gauss(0, 20)))
        high = max(open_, close) + rng.choice((0, 0, 1, 2, rng.randint(0, 15)))
        low = max(20, min(open_, close) - rng.choice((0, 0, 1, 2, rng.randint(0, 15))))
        ticks = close
        volume = 0 if rng.random() < spec.zero_volume else rng.randint(100, 6000)
        if i not in spec.drop:
            rows.append((ts, open_ * TICK, high * TICK, low * TICK, close * TICK, float(volume), 0.0))
    frame = pd.DataFrame(rows, columns=["datetime", "open", "high", "low", "close", "volume", "openinterest"])
    return frame.set_index("datetime")


def frame_for(spec: FeedSpec) -> pd.DataFrame:
    """The bars of ``spec`` (OHLC on the 1/16 grid, open and close inside high/low)."""
    return _walk(spec)


def _ticks(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low, high)


def _valid(rng: random.Random, intraday: bool) -> tuple[Any, ...] | None:
    choice = rng.choice(("gtc", "gtc", "day", "delta", "date", "datetime"))
    if choice == "gtc":
        return None
    if choice == "day":
        return ("day",)
    if choice == "date":
        return ("date", rng.randint(0, 3))
    if intraday:
        return (choice, rng.choice((10, 30, 60, 240, 1440, 2880)))   # minutes
    return (choice, rng.randint(1, 4) * 1440)


def _size(rng: random.Random, tight: bool) -> int:
    return rng.choice((1, 2, 3, 5, 8, 10, 20)) if not tight else rng.choice((5, 10, 20, 40, 60, 90))


def _order_args(rng: random.Random, mix: Mix, scn: dict[str, Any], side: str) -> dict[str, Any] | None:
    slip = scn["slippage"]
    types = [t for t, on in (("Market", mix.market), ("Close", mix.close_orders), ("Limit", mix.limit),
                             ("Stop", mix.stop), ("StopLimit", mix.stop_limit), ("StopTrail", mix.trailing),
                             ("StopTrailLimit", mix.trailing and mix.stop_limit)) if on]
    if slip:
        types = [t for t in types if t not in ("StopLimit", "StopTrailLimit")]
        if dict(slip).get("slip_out"):
            types = [t for t in types if t != "Limit"]
    if not types:
        return None
    exectype = rng.choice(types)
    sign = 1 if side == "buy" else -1
    args: dict[str, Any] = dict(side=side, exectype=exectype, size=_size(rng, scn["tight"]))
    if exectype == "Limit":
        args["price"] = -sign * _ticks(rng, -4, 30)
    elif exectype in ("Stop", "StopLimit"):
        args["price"] = sign * _ticks(rng, -4, 30)
        if exectype == "StopLimit":
            args["plimit"] = args["price"] + sign * _ticks(rng, -10, 12)
    elif exectype in ("StopTrail", "StopTrailLimit"):
        if rng.random() < 0.5:
            args["trailamount"] = _ticks(rng, 1, 40)
        else:
            args["trailpercent"] = rng.choice((1 / 64, 1 / 32, 3 / 64, 1 / 16))
        if exectype == "StopTrailLimit":
            args["price"] = sign * _ticks(rng, -4, 10)
            args["plimit"] = sign * _ticks(rng, -10, 12)
    elif exectype in ("Market", "Close") and rng.random() < 0.2:
        args["price"] = _ticks(rng, -10, 10)     # a price on a market order: ignored except by coc
    if mix.valid and rng.random() < 0.4:
        args["valid"] = _valid(rng, scn["intraday"])
    return args


def _pick_feeds(rng: random.Random, mix: Mix) -> tuple[FeedSpec, ...]:
    # Feed 0 has no gaps; with ``mix.calendars`` the others may miss bars or start later, and
    # daily feeds may mix CSV (stamped 23:59:59.999989) and pandas (midnight) bars, intraday
    # feeds different bar lengths: then some feed has no new bar in some cycles.
    intraday = mix.intraday and rng.random() < 0.3
    count = rng.choice((1, 1, 2, 2, 3)) if mix.multi_feed else 1
    bars = rng.randint(40, 90) if not intraday else rng.randint(60, 160)
    minutes = rng.choice((1, 5, 15, 30)) if intraday else 0
    per_day = rng.choice((8, 13, 26))
    csv = not intraday and mix.csv and rng.random() < 0.3
    feeds = []
    for i in range(count):
        drop: tuple[int, ...] = ()
        offset, length, own_minutes, own_csv = 0, bars, minutes, csv
        if mix.calendars and i > 0 and rng.random() < 0.6:
            offset = rng.choice((0, 0, 1, 3))
            length = bars - offset - rng.choice((0, 0, 2))
            drop = tuple(sorted(rng.sample(range(length), rng.randint(1, max(1, length // 8)))))
            if intraday and rng.random() < 0.3:
                own_minutes = rng.choice((1, 5, 15, 30))
            if not intraday and mix.csv and rng.random() < 0.3:
                own_csv = not csv
        declare = not (intraday and mix.undeclared_timeframe and rng.random() < 0.3)
        feeds.append(FeedSpec(name="ABC"[i], seed=rng.randrange(10**6), bars=length, minutes=own_minutes,
                              declare_timeframe=declare, csv=own_csv, drop=drop, start_offset=offset,
                              bars_per_day=per_day))
    return tuple(feeds)


def _broker_setup(rng: random.Random, mix: Mix, feeds: tuple[FeedSpec, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if mix.slippage and rng.random() < 0.3:
        flags = {k: rng.random() < 0.5 for k in ("slip_open", "slip_limit", "slip_match", "slip_out")}
        if rng.random() < 0.5:
            out["slippage"] = (("perc", rng.choice((1 / 128, 1 / 64, 1 / 32))), *sorted(flags.items()))
        else:
            out["slippage"] = (("fixed", rng.choice((1, 2, 3, 5)) * TICK), *sorted(flags.items()))
    if mix.fillers and rng.random() < 0.25:
        kind = rng.choice(("FixedSize", "FixedBarPerc", "BarPointPerc"))
        if kind == "FixedSize":
            out["filler"] = (("kind", kind), ("size", rng.choice((3, 7, 50))))
        elif kind == "FixedBarPerc":
            out["filler"] = (("kind", kind), ("perc", rng.choice((1, 5, 25))))
        else:
            out["filler"] = (("kind", kind), ("minmov", TICK), ("perc", rng.choice((10, 40))))
    comms = []
    if mix.commissions and rng.random() < 0.5:
        for spec in [None, *feeds] if len(feeds) > 1 and rng.random() < 0.4 else [None]:
            kind = rng.choice(("percent", "fixed", "futures") if mix.futures else ("percent", "fixed"))
            name = (("name", spec.name),) if spec is not None else ()
            if kind == "percent":
                comms.append((("commission", rng.choice((0.1, 0.25, 0.001))), *name))
            elif kind == "fixed":
                comms.append((("commission", rng.choice((1.0, 2.5))), ("commtype", "fixed"),
                              ("stocklike", True), *name))
            else:
                comms.append((("commission", rng.choice((2.0, 4.0))), ("margin", rng.choice((500.0, 1000.0))),
                              ("mult", rng.choice((5.0, 10.0))), *name))
    out["commission"] = tuple(comms)
    return out


def generate(seed: int, mix: Mix | None = None) -> Scenario:
    """Draw one scenario from ``seed``."""
    mix = mix or Mix()
    rng = random.Random(seed)
    feeds = _pick_feeds(rng, mix)
    setup = _broker_setup(rng, mix, feeds)
    tight = mix.tight_cash and rng.random() < 0.4
    futures = any(dict(c).get("margin") for c in setup["commission"])
    cash = 10000.0 if tight else 1_000_000.0
    if futures and tight:
        cash = 30000.0
    mode = rng.choice(MODES) if mix.modes else MODES[0]
    coo = mix.cheat_on_open and rng.random() < 0.2
    coc = mix.cheat_on_close and rng.random() < 0.2
    scn = dict(slippage=setup.get("slippage", ()), tight=tight, intraday=feeds[0].minutes > 0)
    bars = min(f.bars for f in feeds)
    actions: list[Act] = []
    tags: list[tuple[int, str]] = []
    next_tag = iter(range(10**6))
    density = rng.choice((0.3, 0.5, 0.8))
    for bar in range(1, bars):
        for _ in range(rng.choice((0, 1, 1, 2, 3)) if rng.random() < density else 0):
            act = _draw_action(rng, mix, scn, bar, list(range(len(feeds))), tags, next_tag, coo)
            if act is not None:
                actions.append(act)
    return Scenario(seed=seed, feeds=feeds, actions=tuple(actions), cash=cash, mode=tuple(sorted(mode.items())),
                    cheat_on_open=coo, coc=coc, slippage=setup.get("slippage", ()),
                    filler=setup.get("filler", ()), commission=setup["commission"])


def _draw_action(rng: random.Random, mix: Mix, scn: dict[str, Any], bar: int, datas: list[int],
                 tags: list[tuple[int, str]], next_tag: Any, coo: bool) -> Act | None:
    data = rng.choice(datas)
    kinds = ["order"] * 6
    slip_out = dict(scn["slippage"]).get("slip_out")
    for kind, on, weight in (("cancel", mix.cancels and tags, 2), ("oco", mix.oco and tags, 1),
                             ("bracket", mix.brackets and not slip_out and mix.limit, 2),
                             ("manual_bracket", mix.manual_brackets and not slip_out and mix.limit, 1),
                             ("target", mix.targets, 2), ("close", mix.close, 2),
                             ("setcash", mix.cash_changes, 0.5), ("addcash", mix.cash_changes, 1)):
        if on:
            kinds += [kind] * int(weight * 2)
    kind = rng.choice(kinds)
    phase = "open" if coo and kind in ("order", "target", "close") and rng.random() < 0.5 else "next"
    if kind == "cancel":
        older = [t for b, t in tags if b < bar]
        if not older:
            return None
        return Act(bar, "cancel", (("tag", rng.choice(older)),))
    if kind in ("order", "oco"):
        args = _order_args(rng, mix, scn, rng.choice(("buy", "sell")))
        if args is None:
            return None
        args["data"] = data
        args["tag"] = f"t{next(next_tag)}"
        if kind == "oco":
            older = [t for b, t in tags if b <= bar and "." not in t]
            if not older:
                return None
            args["oco"] = rng.choice(older)
            phase = "next"
        tags.append((bar, args["tag"]))
        return Act(bar, kind, tuple(sorted(args.items())), phase)
    if kind in ("bracket", "manual_bracket"):
        side = rng.choice(("buy", "sell"))
        sign = 1 if side == "buy" else -1
        tag = f"b{next(next_tag)}"
        parent_type = rng.choice(("Limit", "Limit", "Market", "Stop") if kind == "bracket" else ("Limit", "Market"))
        args = dict(side=side, data=data, tag=tag, size=_size(rng, scn["tight"]), parent=parent_type,
                    price=-sign * _ticks(rng, -4, 16) if parent_type == "Limit" else sign * _ticks(rng, -2, 16),
                    stop=-sign * _ticks(rng, 4, 40), limit=sign * _ticks(rng, 4, 40))
        if parent_type == "Market":
            args["price"] = _ticks(rng, -8, 8) if rng.random() < 0.3 else None   # used only by coc
        if mix.valid and rng.random() < 0.3:
            args["stopvalid"] = _valid(rng, scn["intraday"])
        if mix.valid and rng.random() < 0.2:
            args["limitvalid"] = _valid(rng, scn["intraday"])
        if mix.valid and rng.random() < 0.2:
            args["valid"] = _valid(rng, scn["intraday"])
        tags.append((bar, tag))
        if mix.child_cancels:
            tags += [(bar, tag + ".stop"), (bar, tag + ".limit")]
        return Act(bar, kind, tuple(sorted(args.items())))
    if kind == "target":
        which = rng.choice(("size", "value", "percent"))
        target: float
        if which == "size":
            target = rng.choice((-20, -5, 0, 3, 10, 25)) if not scn["tight"] else rng.choice((-60, -10, 0, 10, 60))
        elif which == "value":
            target = float(rng.choice((-2000, 0, 1500, 5000, 9000)))
        else:
            target = rng.choice((-0.5, 0.0, 0.1, 0.3, 0.75, 0.98))
        return Act(bar, "target", (("data", data), ("target", target), ("which", which)), phase)
    if kind == "close":
        return Act(bar, "close", (("data", data),), phase)
    if kind == "setcash":
        return Act(bar, "setcash", (("cash", rng.choice((5000.0, 20000.0, 2_000_000.0))),))
    return Act(bar, "addcash", (("cash", rng.choice((-3000.0, 1000.0, 2500.0, 50000.0))),))


def features(scn: Scenario) -> set[str]:
    """The features a scenario exercises (names as in :class:`Mix`, plus order types and sides)."""
    out: set[str] = set()
    for a in scn.actions:
        if a.kind in ("order", "oco"):
            out.add(f"{a.arg('side')}:{a.arg('exectype')}")
            if a.arg("valid") is not None:
                out.add(f"valid:{a.arg('valid')[0]}")
        if a.kind in ("bracket", "manual_bracket"):
            out.add(f"{a.kind}:{a.arg('parent')}")
            if a.arg("stopvalid") is not None or a.arg("limitvalid") is not None:
                out.add("child_valid")
        if a.kind == "cancel":
            out.add("child_cancel" if "." in a.arg("tag") else "cancel")
        if a.kind == "target":
            out.add(f"target:{a.arg('which')}")
        if a.phase == "open":
            out.add("next_open")
        out.add(a.kind)
    out |= {name for name, on in (
        ("coc", scn.coc), ("cheat_on_open", scn.cheat_on_open), ("filler", bool(scn.filler)),
        ("multi_feed", len(scn.feeds) > 1), ("calendars", any(f.drop or f.start_offset for f in scn.feeds)),
        ("intraday", any(f.minutes for f in scn.feeds)), ("csv", any(f.csv for f in scn.feeds)),
        ("undeclared_timeframe", any(f.minutes and not f.declare_timeframe for f in scn.feeds)),
        ("tight_cash", scn.cash < 1_000_000)) if on}
    if scn.slippage:
        slip = dict(scn.slippage)
        out.add("slippage:" + ("perc" if "perc" in slip else "fixed"))
        out |= {f"slippage:{k}" for k in ("slip_open", "slip_limit", "slip_match", "slip_out") if slip[k]}
    if scn.filler:
        out.add(f"filler:{dict(scn.filler)['kind']}")
    for comm in scn.commission:
        kw = dict(comm)
        out.add("commission:" + ("futures" if "margin" in kw else kw.get("commtype", "percent")))
    out.add("mode:" + ",".join(f"{k}={v}" for k, v in scn.mode))
    return out
