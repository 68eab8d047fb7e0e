"""Parity fuzzer, part 3: shrink a divergent scenario to a short reproduction.

:func:`shrink` is greedy delta debugging: it cuts the bars after the first
difference, drops feeds, drops chunks of actions (halving the chunk size) and
resets broker settings, keeping each cut while the first-difference signature
stays. :func:`reproduction` prints the result as a standalone script.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from finbot_bt import FinbotBroker
from tests.parity_fuzz import MODES, Scenario
from tests.parity_fuzz_check import Divergence, check


def _drop_feed(scn: Scenario, k: int) -> Scenario:
    name = scn.feeds[k].name
    actions = []
    for a in scn.actions:
        data = a.arg("data")
        if data == k:
            continue
        if data is not None and data > k:
            a = dataclasses.replace(a, args=tuple((n, v - 1 if n == "data" else v) for n, v in a.args))
        actions.append(a)
    comm = tuple(c for c in scn.commission if dict(c).get("name") != name)
    return dataclasses.replace(scn, feeds=scn.feeds[:k] + scn.feeds[k + 1:], actions=tuple(actions), commission=comm)


def _cut_bars(scn: Scenario, bar: int) -> Scenario:
    # strategy bar n is row n-1 of feed 0; a feed starting ``start_offset`` rows later must end no later
    feeds = tuple(dataclasses.replace(f, bars=min(f.bars, bar + 2 - f.start_offset)) for f in scn.feeds)
    return dataclasses.replace(scn, feeds=feeds, actions=tuple(a for a in scn.actions if a.bar <= bar))


def _simpler_settings(scn: Scenario) -> list[Scenario]:
    out = []
    for name, plain in (("slippage", ()), ("filler", ()), ("commission", ()), ("coc", False),
                        ("cheat_on_open", False), ("mode", tuple(sorted(MODES[0].items())))):
        if getattr(scn, name) != plain:
            out.append(dataclasses.replace(scn, **{name: plain}))
    if any(f.csv or f.drop or f.start_offset for f in scn.feeds):
        out.append(dataclasses.replace(scn, feeds=tuple(
            dataclasses.replace(f, csv=False, drop=(), start_offset=0) for f in scn.feeds)))
    for i, f in enumerate(scn.feeds):
        if f.drop:
            out.append(dataclasses.replace(
                scn, feeds=(*scn.feeds[:i], dataclasses.replace(f, drop=()), *scn.feeds[i + 1:])))
    return out


def shrink(scn: Scenario, div: Divergence, budget: int = 400, finbot: Callable[[], Any] = FinbotBroker,
           ignore: frozenset[str] = frozenset()) -> tuple[Scenario, Divergence]:
    """Greedy delta debugging: keep a reduction while the first-difference signature stays."""
    runs = 0

    def fails(candidate: Scenario) -> Divergence | None:
        nonlocal runs
        runs += 1
        got = check(candidate, finbot, ignore)
        return got if got is not None and got.signature == div.signature else None

    def attempt(candidate: Scenario) -> bool:
        nonlocal scn, div
        if runs >= budget:
            return False
        got = fails(candidate)
        if got is None:
            return False
        scn, div = candidate, got
        return True

    if div.bar > 0:
        attempt(_cut_bars(scn, div.bar))
    for k in reversed(range(len(scn.feeds))):
        if len(scn.feeds) > 1:
            attempt(_drop_feed(scn, k))
    chunk = max(1, len(scn.actions) // 2)
    while chunk >= 1 and runs < budget:
        i, progressed = 0, False
        while i < len(scn.actions) and runs < budget:
            candidate = dataclasses.replace(scn, actions=scn.actions[:i] + scn.actions[i + chunk:])
            if attempt(candidate):
                progressed = True
            else:
                i += chunk
        if not progressed:
            chunk //= 2
    changed = True
    while changed and runs < budget:
        changed = any(attempt(c) for c in _simpler_settings(scn))
    if div.bar > 0:
        attempt(_cut_bars(scn, div.bar))
    return scn, div


def _changed(obj: Any, skip: tuple[str, ...] = ()) -> str:
    # the fields of a dataclass not at their defaults, as ``name=value`` source
    parts = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name not in skip and (f.default is dataclasses.MISSING or value != f.default):
            parts.append(f"{f.name}={value!r}")
    return ", ".join(parts)


def _compact(obj: Any) -> str:
    return f"{type(obj).__name__}({_changed(obj)})"


def scenario_source(scn: Scenario, indent: str = "") -> str:
    """``scn`` as Python source, one feed and one action a line."""
    settings = _changed(scn, skip=("feeds", "actions"))
    lines = [f"{indent}Scenario(", f"{indent}    {settings},", f"{indent}    feeds=("]
    lines += [f"{indent}        {_compact(f)}," for f in scn.feeds]
    lines += [f"{indent}    ),", f"{indent}    actions=("]
    lines += [f"{indent}        {_compact(a)}," for a in scn.actions]
    lines += [f"{indent}    ),", f"{indent})"]
    return "\n".join(lines)


def reproduction(scn: Scenario) -> str:
    """A standalone script that replays ``scn`` and prints the first difference."""
    return ("from tests.parity_fuzz import Act, FeedSpec, Scenario\n"
            "from tests.parity_fuzz_check import check\n\n"
            f"scenario = {scenario_source(scn)}\nprint(check(scenario))")


__all__ = ["reproduction", "scenario_source", "shrink"]
