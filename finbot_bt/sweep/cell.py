"""One sweep cell: a fully resolved, picklable description of a single backtest.

A :class:`CellSpec` carries only plain values (strings, numbers, mappings of
them) so that it ships cheaply to a Dask worker and hashes to a stable key.
The worker turns it into broker components with the ``build_*`` functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from finbot_bt.contracts.latency import LatencyConfig, resolve_latency
from finbot_bt.contracts.risk import RiskConfig
from finbot_bt.errors import ConfigError
from finbot_bt.execution.commission import (
    CommissionModel,
    FixedCommission,
    NoCommission,
    PercentCommission,
    PerShareCommission,
)
from finbot_bt.execution.slippage import (
    BasisPointsSlippage,
    FixedAmountSlippage,
    NoSlippage,
    PercentSlippage,
    SlippageModel,
)

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


def import_strategy(path: str) -> Any:
    """Import ``"package.module:ClassName"`` or ``"path/to/file.py:ClassName"`` (as ``finbot-bt run``)."""
    from finbot_bt.runner.strategies import load_strategy

    return load_strategy(path)


def _decimal(where: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ConfigError(f"{where} must be a number or a decimal string, got {value!r}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except ArithmeticError:
        raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ConfigError(f"{where} must be finite, got {value!r}")
    return number


def _fields(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed - {"kind"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: {sorted(allowed)}")


def build_commission(table: Mapping[str, Any]) -> CommissionModel:
    """Build a commission model from ``{"kind": ..., ...}``.

    Kinds: ``none``; ``per_share`` (``rate`` per unit, ``minimum``); ``percent``
    (``rate`` of notional, 0.001 = 0.1 %, ``minimum``); ``fixed`` (``amount`` per order).
    """
    kind = table.get("kind", "none")
    where = f"commission kind {kind!r}"
    if kind == "none":
        _fields(where, table, set())
        return NoCommission()
    if kind in ("per_share", "percent"):
        _fields(where, table, {"rate", "minimum"})
        model = PerShareCommission if kind == "per_share" else PercentCommission
        return model(rate=_decimal(f"{where}.rate", table.get("rate")),
                     minimum=_decimal(f"{where}.minimum", table.get("minimum", 0)))
    if kind == "fixed":
        _fields(where, table, {"amount"})
        return FixedCommission(amount=_decimal(f"{where}.amount", table.get("amount")))
    raise ConfigError(f"unknown commission kind {kind!r}; choose none, per_share, percent or fixed")


def build_slippage(table: Mapping[str, Any]) -> SlippageModel:
    """Build a slippage model from ``{"kind": ..., ...}``.

    Kinds: ``none``; ``percent`` (``rate``, 0.001 = 0.1 %); ``bps`` (``bps``);
    ``fixed`` (``amount`` per unit, quote currency).
    """
    kind = table.get("kind", "none")
    where = f"slippage kind {kind!r}"
    if kind == "none":
        _fields(where, table, set())
        return NoSlippage()
    if kind == "percent":
        _fields(where, table, {"rate"})
        return PercentSlippage(rate=_decimal(f"{where}.rate", table.get("rate")))
    if kind == "bps":
        _fields(where, table, {"bps"})
        return BasisPointsSlippage(bps=_decimal(f"{where}.bps", table.get("bps")))
    if kind == "fixed":
        _fields(where, table, {"amount"})
        return FixedAmountSlippage(amount=_decimal(f"{where}.amount", table.get("amount")))
    raise ConfigError(f"unknown slippage kind {kind!r}; choose none, percent, bps or fixed")


def build_latency(value: str | Mapping[str, Any]) -> LatencyConfig:
    """A profile name, or a custom table of milliseconds (``submission_ms``, ``fill_min_ms``, ...)."""
    if isinstance(value, str):
        return resolve_latency(value)
    allowed = {"submission_ms", "fill_min_ms", "fill_max_ms", "cancel_ms", "name"}
    _fields("latency", value, allowed)

    def ms(key: str) -> timedelta:
        return timedelta(milliseconds=float(_decimal(f"latency.{key}", value.get(key, 0))))

    return LatencyConfig(submission_latency=ms("submission_ms"), fill_latency_min=ms("fill_min_ms"),
                         fill_latency_max=ms("fill_max_ms"), cancel_latency=ms("cancel_ms"),
                         name=str(value.get("name", "custom")))


def build_risk(table: Mapping[str, Any] | None) -> RiskConfig | None:
    """``RiskConfig.from_dict(table)``, or None for no limits."""
    return None if table is None else RiskConfig.from_dict(table)


__all__ = ["CellSpec", "build_commission", "build_latency", "build_risk", "build_slippage", "import_strategy"]
