"""Run a regression suite and report: ok, drift (with diffs), missing golden or error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from finbot_bt.regress.compare import Drift, compare
from finbot_bt.regress.golden import golden_from_result, read_golden, write_golden
from finbot_bt.regress.suite import load_suite
from finbot_bt.sweep.backtest import backtest_cell


@dataclass(slots=True, kw_only=True)
class RunOutcome:
    """One run's verdict: ``ok``, ``drift``, ``missing`` (no golden), ``error`` or ``updated``."""

    name: str
    status: str
    drifts: list[Drift] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> bool:
        """True for drift, missing golden or error."""
        return self.status in ("drift", "missing", "error")


@dataclass(slots=True, kw_only=True)
class RegressReport:
    """The verdicts of a suite, in suite order."""

    suite: Path
    outcomes: list[RunOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no run failed."""
        return not any(o.failed for o in self.outcomes)

    def format(self) -> str:
        """The human-readable report: one line per run, then the diffs of drifted runs."""
        lines = []
        for outcome in self.outcomes:
            lines.append(f"{outcome.status.upper():8} {outcome.name}")
            if outcome.error:
                lines.append(f"    {outcome.error}")
            for drift in outcome.drifts:
                lines.append("    " + drift.describe().replace("\n", "\n    "))
        failed = sum(o.failed for o in self.outcomes)
        verdict = "all match their goldens" if self.ok else f"{failed} failed"
        lines.append(f"regress: {len(self.outcomes)} run(s), {verdict} ({self.suite})")
        return "\n".join(lines)


def run_suite(path: str | Path, *, update: bool = False, only: set[str] | None = None) -> RegressReport:
    """Run every run of the suite at ``path`` (or those named in ``only``); ``update`` rewrites goldens."""
    suite, base = load_suite(path)
    goldens = (base / suite.goldens).resolve()
    report = RegressReport(suite=Path(path))
    for run in suite.run:
        if only is not None and run.name not in only:
            continue
        cell = run.cell(base)
        target = goldens / f"{run.name}.json"
        try:
            got = golden_from_result(run.name, cell, backtest_cell(cell), base)
        except Exception as exc:  # a broken run is a verdict, not a crash of the suite
            report.outcomes.append(RunOutcome(name=run.name, status="error",
                                              error=f"{type(exc).__name__}: {exc}"))
            continue
        if update:
            write_golden(target, got)
            report.outcomes.append(RunOutcome(name=run.name, status="updated"))
            continue
        expected = read_golden(target)
        if expected is None:
            report.outcomes.append(RunOutcome(name=run.name, status="missing",
                                              error=f"no golden at {target}; create it with --update"))
            continue
        drifts = compare(expected, got, suite.tolerances_for(run))
        report.outcomes.append(RunOutcome(name=run.name, status="drift" if drifts else "ok", drifts=drifts))
    return report


__all__ = ["RegressReport", "RunOutcome", "run_suite"]
