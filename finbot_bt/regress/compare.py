"""Compare a run with its golden: a list of drifts, each readable on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from finbot_bt.regress.golden import Golden
from finbot_bt.regress.suite import Tolerance, Tolerances


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """One figure that moved: ``expected`` (golden) vs ``got`` (this run)."""

    figure: str
    expected: Any
    got: Any
    detail: str = ""

    def describe(self) -> str:
        """``figure: expected X, got Y (detail)``."""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.figure}: expected {_show(self.expected)}, got {_show(self.got)}{detail}"


FIELDS = {
    "fills": "(timestamp, order_id, symbol, side, quantity, price, commission)",
    "trades": "(symbol, opened_at, closed_at, pnl, pnl_net, bars)",
}


def _show(value: Any) -> str:
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def _number(figure: str, expected: float | None, got: float | None, tolerance: Tolerance) -> list[Drift]:
    if tolerance.allows(expected, got):
        return []
    detail = f"tolerance {tolerance.describe()}"
    if expected is not None and got is not None:
        detail = f"diff {got - expected:+.10g}, {detail}"
    return [Drift(figure=figure, expected=expected, got=got, detail=detail)]


def first_difference(expected: Sequence[Sequence[Any]], got: Sequence[Sequence[Any]]) -> str:
    """``#i: expected [...], got [...]`` for the first differing entry (or the first extra/missing one)."""
    for i, (a, b) in enumerate(zip(expected, got, strict=False)):
        if list(a) != list(b):
            return f"#{i}: expected {_row(a)}\n{' ' * (len(str(i)) + 3)}got      {_row(b)}"
    if len(expected) > len(got):
        return f"#{len(got)}: expected {_row(expected[len(got)])}, got nothing ({len(got)} in total)"
    if len(got) > len(expected):
        return f"#{len(expected)}: expected nothing, got {_row(got[len(expected)])}"
    return "lists are equal"


def _row(values: Sequence[Any]) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"


def compare(expected: Golden, got: Golden, tolerances: Tolerances) -> list[Drift]:
    """Every drift of ``got`` from ``expected``: headline figures, metrics, digests, config."""
    drifts = [*_number("final_value", expected.final_value, got.final_value, tolerances.final_value),
              *_number("cash", expected.cash, got.cash, tolerances.cash)]
    for name in sorted(set(expected.metrics) | set(got.metrics)):
        if name not in got.metrics or name not in expected.metrics:
            drifts.append(Drift(figure=f"metrics.{name}", expected=expected.metrics.get(name, "(absent)"),
                                got=got.metrics.get(name, "(absent)")))
            continue
        drifts += _number(f"metrics.{name}", expected.metrics[name], got.metrics[name],
                          tolerances.for_metric(name))
    for kind in ("fills", "trades"):
        before, after = getattr(expected, f"{kind}_digest"), getattr(got, f"{kind}_digest")
        if before != after:
            rows_before, rows_after = getattr(expected, kind), getattr(got, kind)
            drifts.append(Drift(
                figure=f"{kind}_digest", expected=before, got=after,
                detail=f"{len(rows_before)} -> {len(rows_after)} {kind}; first differing {kind[:-1]} "
                       f"{FIELDS[kind]}\n{first_difference(rows_before, rows_after)}"))
    if expected.config != got.config:
        changed = sorted(k for k in set(expected.config) | set(got.config)
                         if expected.config.get(k) != got.config.get(k))
        drifts.append(Drift(figure="config", expected={k: expected.config.get(k) for k in changed},
                            got={k: got.config.get(k) for k in changed},
                            detail="the run's settings differ from the golden's; --update if intended"))
    return drifts


__all__ = ["Drift", "compare", "first_difference"]
