"""Golden results: what a regression run produced, stored as JSON.

A golden holds the run's settings (file paths relative to the suite's folder,
bundled files as ``bundled:NAME``), the headline figures (final value and cash, quote currency),
the digests of the fill and closed-trade lists, the numeric metrics, and the
lists themselves, so a drift report can show the first differing fill. NaN
metrics are stored as ``null``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from finbot_bt.errors import ConfigError
from finbot_bt.sweep.backtest import BacktestResult
from finbot_bt.sweep.cell import CellSpec

GOLDEN_FORMAT = 1
"""Version of the golden layout."""

HEADLINE = ("final_value", "final_cash", "fills_digest", "trades_digest")


class Golden(BaseModel):
    """One run's stored result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = GOLDEN_FORMAT
    run: str
    config: dict[str, Any]
    final_value: float
    cash: float
    fills_digest: str
    trades_digest: str
    metrics: dict[str, float | None]
    fills: list[list[str]]
    trades: list[list[str | int]]


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def suite_relative(path: str, base_dir: Path) -> str:
    """``path`` as stored in a golden: ``bundled:NAME`` for a bundled file, else relative to
    ``base_dir`` (the suite's folder) with ``/`` separators, so goldens do not depend on where
    the suite lives."""
    from finbot_bt.data import sample_path
    from finbot_bt.sweep.data import BUNDLED

    if path.startswith(BUNDLED):
        return path
    resolved = Path(path).resolve()
    if resolved.parent == sample_path().parent.resolve():
        return f"{BUNDLED}{resolved.name}"
    return Path(os.path.relpath(resolved, base_dir.resolve())).as_posix()


def _strategy_relative(spec: str, base_dir: Path) -> str:
    target, sep, name = spec.rpartition(":")
    if sep and (target.endswith(".py") or "/" in target or "\\" in target):
        return f"{suite_relative(target, base_dir)}:{name}"
    return spec


def golden_from_result(name: str, cell: CellSpec, result: BacktestResult, base_dir: Path | None = None) -> Golden:
    """The golden of a finished run; file paths are stored relative to ``base_dir`` (the suite's folder).

    Without ``base_dir`` data files are stored by name only and strategy files as given.
    """
    m = result.metrics
    config = cell.canonical()
    if base_dir is None:
        config["data_paths"] = [Path(p).name for p in cell.data_paths]
    else:  # machine-independent: the suite can move to another folder or CI runner
        config["data_paths"] = [suite_relative(p, base_dir) for p in cell.data_paths]
        config["strategy"] = _strategy_relative(cell.strategy, base_dir)
    return Golden(
        run=name, config=config, final_value=float(m["final_value"]), cash=float(m["final_cash"]),
        fills_digest=str(m["fills_digest"]), trades_digest=str(m["trades_digest"]),
        metrics={k: _number(v) for k, v in m.items() if k not in HEADLINE},
        fills=[list(f) for f in result.fills], trades=[list(t) for t in result.trades],
    )


def read_golden(path: Path) -> Golden | None:
    """The golden at ``path``, or None when there is none yet."""
    if not path.exists():
        return None
    try:
        return Golden.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise ConfigError(f"golden {str(path)!r} is unreadable ({type(exc).__name__}); "
                          "regenerate it with --update") from None


def write_golden(path: Path, golden: Golden) -> None:
    """Write ``golden`` as indented JSON with sorted keys (readable diffs in review)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(golden.model_dump(mode="json"), indent=1, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


__all__ = ["GOLDEN_FORMAT", "Golden", "golden_from_result", "read_golden", "suite_relative", "write_golden"]
