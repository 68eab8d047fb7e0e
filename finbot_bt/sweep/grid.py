"""The sweep grid: strategy parameters x broker settings x data sets, loaded from TOML.

Every list in the grid is an axis; the sweep runs the Cartesian product.
Unknown keys are rejected with a :class:`~finbot_bt.errors.ConfigError`
naming the key. Example::

    [[strategies]]
    path = "finbot_bt.broker.strategies:SmaCross"
    params = { fast = [5, 10], slow = [20, 40], stake = 0.5 }   # lists are axes

    [data]                      # name -> file path (or list of paths), relative to this file
    walk = "data/walk.csv"
    bundled = "bundled:synthetic_daily.csv"   # a file shipped in finbot_bt.data

    [broker]
    latency = ["instant", "normal", "colo"]   # profile names or [latency.*] tables
    risk = ["none", "tight"]                  # "none" or [risk.*] tables (RiskConfig.from_dict)
    commission = ["none", "ibkr"]             # "none" or [commission.*] tables
    slippage = ["none"]                       # "none" or [slippage.*] tables
    seed = [0, 1]
    cash = 100000

    [latency.colo]
    submission_ms = 1
    fill_min_ms = 2
    fill_max_ms = 5

    [risk.tight]
    order_size = { max_order_quantity = 5 }

    [commission.ibkr]
    kind = "per_share"
    rate = "0.005"
    minimum = "1"

A strategy parameter whose value is itself a list must be written as a list
of one list (``weights = [[0.5, 0.5]]``).
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
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

from finbot_bt.contracts.latency import LATENCY_PROFILES
from finbot_bt.errors import ConfigError, FinbotError, did_you_mean
from finbot_bt.runner.config import keys_at
from finbot_bt.sweep.cell import CellSpec, build_commission, build_latency, build_risk, build_slippage
from finbot_bt.sweep.data import resolve_data_path


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


class StrategyAxis(BaseModel):
    """One strategy class and the grid of its parameters (lists are axes, scalars fixed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="'package.module:ClassName' or 'path/to/file.py:ClassName' (relative to the grid).")
    params: dict[str, Any] = Field(default_factory=dict)

    def combinations(self) -> list[dict[str, Any]]:
        """Every parameter combination, in TOML order (the last parameter varies fastest)."""
        names = list(self.params)
        axes = [_as_list(self.params[name]) for name in names]
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes)]


class BrokerAxes(BaseModel):
    """Broker settings; each may be one value or a list of values (an axis)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency: list[str] = Field(default_factory=lambda: ["instant"])
    risk: list[str] = Field(default_factory=lambda: ["none"])
    commission: list[str] = Field(default_factory=lambda: ["none"])
    slippage: list[str] = Field(default_factory=lambda: ["none"])
    seed: list[StrictInt] = Field(default_factory=lambda: [0])
    cash: str = Field(default="100000", description="Starting cash, quote currency.")

    @field_validator("latency", "risk", "commission", "slippage", "seed", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("cash", mode="before")
    @classmethod
    def _cash_text(cls, value: Any) -> Any:
        return repr(value) if isinstance(value, float) else str(value) if isinstance(value, int) else value


class GridSpec(BaseModel):
    """A sweep: strategies x data sets x broker axes, plus the named settings they refer to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "sweep"
    strategies: list[StrategyAxis] = Field(min_length=1)
    data: dict[str, list[str]] = Field(min_length=1, description="Data set name -> CSV paths.")
    broker: BrokerAxes = Field(default_factory=BrokerAxes)
    latency: dict[str, dict[str, Any]] = Field(default_factory=dict)
    risk: dict[str, dict[str, Any]] = Field(default_factory=dict)
    commission: dict[str, dict[str, Any]] = Field(default_factory=dict)
    slippage: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("data", mode="before")
    @classmethod
    def _data_lists(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {name: _as_list(paths) for name, paths in value.items()}
        return value

    @model_validator(mode="after")
    def _check_references(self) -> GridSpec:
        for section, names, builtin in (
            ("latency", self.broker.latency, set(LATENCY_PROFILES)),
            ("risk", self.broker.risk, {"none"}),
            ("commission", self.broker.commission, {"none"}),
            ("slippage", self.broker.slippage, {"none"}),
        ):
            tables: dict[str, Any] = getattr(self, section)
            for name in names:
                if name not in tables and name not in builtin:
                    raise ValueError(f"broker.{section} names {name!r}, which is neither built in "
                                     f"({sorted(builtin)}) nor a [{section}.{name}] table")
        for name, table in self.latency.items():
            build_latency({**table, "name": name})
        for table in self.risk.values():
            build_risk(table)
        for table in self.commission.values():
            build_commission(table)
        for table in self.slippage.values():
            build_slippage(table)
        return self

    def cells(self, base_dir: Path | None = None) -> list[CellSpec]:
        """Expand the grid; relative data paths are resolved against ``base_dir`` (default: cwd)."""
        root = (base_dir or Path.cwd()).resolve()
        data = {name: tuple(resolve_data_path(p, root) for p in paths) for name, paths in self.data.items()}
        b = self.broker
        axes = itertools.product(
            [(s, combo) for s in self.strategies for combo in s.combinations()],
            data.items(), b.latency, b.risk, b.commission, b.slippage, b.seed,
        )
        cells = []
        for index, ((strategy, params), (data_name, paths), latency, risk, commission, slippage, seed) in \
                enumerate(axes):
            cells.append(CellSpec(
                index=index, strategy=_strategy_path(strategy.path, root), strategy_params=params, data_name=data_name,
                data_paths=paths, latency={**self.latency[latency], "name": latency} if latency in self.latency
                else latency, latency_name=latency,
                risk=self.risk.get(risk), risk_name=risk,
                commission=self.commission.get(commission, {"kind": "none"}), commission_name=commission,
                slippage=self.slippage.get(slippage, {"kind": "none"}), slippage_name=slippage,
                seed=seed, cash=b.cash,
            ))
        return cells


def _strategy_path(path: str, root: Path) -> str:
    target, sep, name = path.rpartition(":")
    if sep and (target.endswith(".py") or "/" in target):
        return f"{(root / target).resolve()}:{name}"
    return path


def grid_from_dict(data: Mapping[str, Any], where: str = "grid") -> GridSpec:
    """Validate a grid table; raise ConfigError naming the offending key."""
    try:
        return GridSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_first_error(exc, GridSpec)}") from None
    except FinbotError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_grid(path: str | Path) -> tuple[GridSpec, list[CellSpec]]:
    """Read a grid TOML file; return the spec and its cells (data paths relative to the file)."""
    file = Path(path)
    try:
        table = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read grid {str(file)!r}: {exc}") from None
    grid = grid_from_dict(table, where=str(file))
    return grid, grid.cells(file.parent)


def _first_error(exc: ValidationError, model: type[BaseModel]) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        path = list(error["loc"])
        return f"unknown key {location!r}{did_you_mean(str(path[-1]), keys_at(model, path[:-1]))}"
    return f"{location}: {message}" if location else message


__all__ = ["BrokerAxes", "GridSpec", "StrategyAxis", "grid_from_dict", "load_grid"]
