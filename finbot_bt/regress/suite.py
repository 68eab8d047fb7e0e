"""The regression suite file (TOML): named runs, the goldens folder and tolerances.

Example::

    goldens = "goldens"                     # folder of <run>.json, relative to this file

    [tolerance]                             # |got - expected| <= max(abs, rel * |expected|)
    final_value = { abs = 0.01 }            # quote currency
    cash = { abs = 0.01 }
    metrics = { abs = 1e-9, rel = 1e-9 }    # every numeric metric without its own entry
    per_metric = { sharpe = { abs = 1e-6 } }

    [[run]]
    name = "sma_normal"
    strategy = "finbot_bt.broker.strategies:SmaCross"
    params = { fast = 10, slow = 30 }
    data = ["bundled:synthetic_daily.csv"]  # relative to this file, or bundled:NAME
    latency = "normal"                      # profile name or { submission_ms = ..., ... }
    risk = { order_size = { max_order_quantity = 500 } }   # RiskConfig.from_dict layout
    commission = { kind = "percent", rate = "0.001" }
    slippage = { kind = "bps", bps = 2 }
    seed = 7
    cash = 100000

Digests (fills, trades) are always compared exactly. Unknown keys raise a
:class:`~finbot_bt.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from finbot_bt.errors import ConfigError, FinbotError, did_you_mean
from finbot_bt.runner.config import keys_at
from finbot_bt.sweep.cell import CellSpec, build_commission, build_latency, build_risk, build_slippage
from finbot_bt.sweep.data import resolve_data_path


class Tolerance(BaseModel):
    """Allowed difference: ``|got - expected| <= max(abs, rel * |expected|)`` (both >= 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    abs: float = Field(default=0.0, ge=0)
    rel: float = Field(default=0.0, ge=0)

    def allows(self, expected: float | None, got: float | None) -> bool:
        """True when ``got`` matches ``expected`` within this tolerance (NaN/None match only themselves)."""
        if expected is None or got is None or math.isnan(expected) or math.isnan(got):
            return _missing(expected) and _missing(got)
        return abs(got - expected) <= max(self.abs, self.rel * abs(expected))

    def describe(self) -> str:
        """``abs 0.01`` / ``rel 1e-09`` / ``exact``."""
        parts = [f"{name} {value:g}" for name, value in (("abs", self.abs), ("rel", self.rel)) if value > 0]
        return ", ".join(parts) or "exact"


def _missing(value: float | None) -> bool:
    return value is None or math.isnan(value)


class Tolerances(BaseModel):
    """Tolerances of the compared figures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    final_value: Tolerance = Tolerance(abs=0.01)
    cash: Tolerance = Tolerance(abs=0.01)
    metrics: Tolerance = Tolerance(abs=1e-9, rel=1e-9)
    per_metric: dict[str, Tolerance] = Field(default_factory=dict)

    def for_metric(self, name: str) -> Tolerance:
        """The tolerance of metric ``name``."""
        return self.per_metric.get(name, self.metrics)


class RunSpec(BaseModel):
    """One named regression backtest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    strategy: str
    params: dict[str, Any] = Field(default_factory=dict)
    data: list[str] = Field(min_length=1)
    latency: str | dict[str, Any] = "instant"
    risk: dict[str, Any] | None = None
    commission: dict[str, Any] = Field(default_factory=lambda: {"kind": "none"})
    slippage: dict[str, Any] = Field(default_factory=lambda: {"kind": "none"})
    seed: StrictInt = 0
    cash: str = "100000"
    tolerance: Tolerances | None = None

    @field_validator("name")
    @classmethod
    def _file_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError(f"run name {value!r} must use letters, digits, '_', '-' or '.' (it names a file)")
        return value

    @field_validator("data", mode="before")
    @classmethod
    def _data_list(cls, value: Any) -> Any:
        return value if isinstance(value, list) else [value]

    @field_validator("cash", mode="before")
    @classmethod
    def _cash_text(cls, value: Any) -> Any:
        return repr(value) if isinstance(value, float) else str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _check_settings(self) -> RunSpec:
        build_latency(self.latency)
        build_risk(self.risk)
        build_commission(self.commission)
        build_slippage(self.slippage)
        return self

    def cell(self, base_dir: Path, index: int = 0) -> CellSpec:
        """This run as a sweep cell (data paths resolved against ``base_dir``)."""
        target, sep, attr = self.strategy.rpartition(":")
        strategy = self.strategy
        if sep and (target.endswith(".py") or "/" in target):
            strategy = f"{(base_dir / target).resolve()}:{attr}"
        latency_name = self.latency if isinstance(self.latency, str) else str(self.latency.get("name", "custom"))
        return CellSpec(
            index=index, strategy=strategy, strategy_params=self.params, data_name=self.name,
            data_paths=tuple(resolve_data_path(p, base_dir) for p in self.data),
            latency=self.latency, latency_name=latency_name, risk=self.risk,
            risk_name="none" if self.risk is None else "custom", commission=self.commission,
            commission_name=str(self.commission.get("kind", "none")), slippage=self.slippage,
            slippage_name=str(self.slippage.get("kind", "none")), seed=self.seed, cash=self.cash,
        )


class SuiteSpec(BaseModel):
    """A regression suite: runs, where their goldens live, default tolerances."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    goldens: str = "goldens"
    tolerance: Tolerances = Field(default_factory=Tolerances)
    run: list[RunSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> SuiteSpec:
        seen: set[str] = set()
        for run in self.run:
            if run.name in seen:
                raise ValueError(f"run name {run.name!r} is used twice")
            seen.add(run.name)
        return self

    def tolerances_for(self, run: RunSpec) -> Tolerances:
        """The run's own tolerances, else the suite's."""
        return run.tolerance if run.tolerance is not None else self.tolerance


def load_suite(path: str | Path) -> tuple[SuiteSpec, Path]:
    """Read a suite TOML file; return the spec and its folder (base of relative paths)."""
    file = Path(path)
    try:
        table = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read suite {str(file)!r}: {exc}") from None
    try:
        return SuiteSpec.model_validate(table), file.resolve().parent
    except ValidationError as exc:
        error = exc.errors()[0]
        location = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            where = list(error["loc"])
            hint = did_you_mean(str(where[-1]), keys_at(SuiteSpec, where[:-1]))
            raise ConfigError(f"{file}: unknown key {location!r}{hint}") from None
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{file}: {location}: {message}") from None
    except FinbotError as exc:
        raise ConfigError(f"{file}: {exc}") from None


__all__ = ["RunSpec", "SuiteSpec", "Tolerance", "Tolerances", "load_suite"]
