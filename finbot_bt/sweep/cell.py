"""One sweep cell: a fully resolved, picklable description of a single backtest.

A :class:`CellSpec` carries only plain values (strings, numbers, mappings of
them) so that it ships cheaply to a Dask worker and hashes to a stable key.
The worker turns it into broker components with the ``build_*`` functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from finbot_bt.contracts.latency import LatencyConfig, resolve_latency
from finbot_bt.contracts.risk import RiskConfig
from finbot_bt.errors import ConfigError
from finbot_bt.execution.commission import (
    CommissionModel,
)
from finbot_bt.execution.slippage import (
    SlippageModel,
)
from finbot_bt.runner.config import CommissionTable, LatencyTable, SlippageTable, describe_validation_error

_T = TypeVar("_T", bound=BaseModel)
JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CellSpec:
    """Everything one backtest needs, as plain values.

    Parameters
    ----------
    index : int
        Position of the cell in the grid's expansion (the table's sort key).
    strategy : str
        ``"package.module:ClassName"`` or ``"/abs/path/file.py:ClassName"`` of a ``bt.Strategy``.
    strategy_params : Mapping[str, Any]
        Keyword arguments of the strategy.
    data_name : str
        Name of the data set in the grid.
    data_paths : tuple[str, ...]
        Absolute data file paths, one feed per path (feed name = upper-cased file stem).
    latency : str or Mapping
        A profile name or a custom ``{submission_ms, fill_min_ms, fill_max_ms, cancel_ms}``.
    latency_name, risk_name, commission_name, slippage_name : str
        Labels of the broker settings, for the results table.
    risk : Mapping or None
        ``RiskConfig.to_dict()`` layout, or None for no risk limits.
    commission, slippage : Mapping
        ``{"kind": ..., ...}`` tables, see :func:`build_commission` and :func:`build_slippage`.
    seed : int
        Seed of the simulator's RNG.
    cash : str
        Starting cash, quote currency (a decimal string).
    """

    index: int
    strategy: str
    strategy_params: Mapping[str, Any] = field(default_factory=dict)
    data_name: str
    data_paths: tuple[str, ...]
    latency: str | Mapping[str, Any] = "instant"
    latency_name: str = "instant"
    risk: Mapping[str, Any] | None = None
    risk_name: str = "none"
    commission: Mapping[str, Any] = field(default_factory=lambda: {"kind": "none"})
    commission_name: str = "none"
    slippage: Mapping[str, Any] = field(default_factory=lambda: {"kind": "none"})
    slippage_name: str = "none"
    seed: int = 0
    cash: str = "100000"

    def canonical(self) -> dict[str, Any]:
        """The cell's content without its index (what the key hashes)."""
        return {
            "strategy": self.strategy, "strategy_params": dict(self.strategy_params),
            "data_name": self.data_name, "data_paths": list(self.data_paths),
            "latency": self.latency if isinstance(self.latency, str) else dict(self.latency),
            "risk": None if self.risk is None else dict(self.risk),
            "commission": dict(self.commission), "slippage": dict(self.slippage),
            "seed": self.seed, "cash": self.cash,
        }

    @property
    def key(self) -> str:
        """Stable content hash (16 hex digits): equal cells share a key whatever their index."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def labels(self) -> dict[str, Any]:
        """The cell's parameter columns for the results table."""
        row: dict[str, Any] = {
            "cell": self.index, "cell_key": self.key, "strategy": self.strategy.rsplit(":", 1)[-1],
            "data": self.data_name, "latency": self.latency_name, "risk": self.risk_name,
            "commission_model": self.commission_name, "slippage_model": self.slippage_name,
            "seed": self.seed,
        }
        for name, value in sorted(self.strategy_params.items()):
            row[f"param_{name}"] = value
        return row


def validate_cells(cells: Sequence[CellSpec], where: str = "grid") -> None:
    """Check every cell before any runs: strategies import, params fit them, data files load.

    Raises
    ------
    ConfigError
        A strategy param is unknown (with the nearest declared name) or of the wrong type.
    StrategyImportError
        A strategy does not import.
    DataError
        A data file is missing or has a bad value.
    """
    from finbot_bt.runner.errors import DataError, StrategyImportError
    from finbot_bt.runner.loader import check_strategy_params, load_strategy
    from finbot_bt.sweep.data import cached_ohlcv

    strategies: dict[str, Any] = {}
    checked: set[str] = set()
    try:
        for cell in cells:
            strategy = strategies.get(cell.strategy)
            if strategy is None:
                strategy = strategies[cell.strategy] = load_strategy(cell.strategy)
            check_strategy_params(strategy, cell.strategy_params, where="params")
            for path in cell.data_paths:
                if path not in checked:
                    cached_ohlcv(path)
                    checked.add(path)
    except (ConfigError, StrategyImportError, DataError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _table(model: type[_T], where: str, table: Mapping[str, Any]) -> _T:
    try:
        return model.model_validate(dict(table))
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe_validation_error(exc, model)}") from None


def build_commission(table: Mapping[str, Any]) -> CommissionModel:
    """A commission model from the ``[commission]`` layout of ``run.toml`` (see ``CommissionTable``)."""
    return _table(CommissionTable, "commission", table).build()


def build_slippage(table: Mapping[str, Any]) -> SlippageModel:
    """A slippage model from the ``[slippage]`` layout of ``run.toml`` (see ``SlippageTable``)."""
    return _table(SlippageTable, "slippage", table).build()


def build_latency(value: str | Mapping[str, Any]) -> LatencyConfig:
    """A profile name, or a custom table of milliseconds (``submission_ms``, ``fill_min_ms``, ...)."""
    if isinstance(value, str):
        return resolve_latency(value)
    return _table(LatencyTable, "latency", value).build()


def build_risk(table: Mapping[str, Any] | None) -> RiskConfig | None:
    """``RiskConfig.from_dict(table)``, or None for no limits."""
    return None if table is None else RiskConfig.from_dict(table)


__all__ = ["CellSpec", "build_commission", "build_latency", "build_risk", "build_slippage", "validate_cells"]
