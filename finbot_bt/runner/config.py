"""``run.toml``: broker settings for ``finbot-bt run``, validated with pydantic.

Every table rejects unknown keys; a wrong type or an unknown key is a
:class:`~finbot_bt.errors.ConfigError` whose one-line message names the file
and the dotted key. Example (every key is optional)::

    cash = 100000            # starting cash, quote currency
    latency = "normal"       # instant | fast | normal | slow, or a [latency] table
    seed = 7                 # seed of the simulator's RNG (latency draws)
    simulator_id = "sma-run" # plain name used in order ids and checkpoints
    checkpoint_dir = "ckpt"  # where checkpoints go (relative to the current directory)
    checkpoint_every = 50    # bars between checkpoints
    resume = false           # continue the session in checkpoint_dir (also: finbot-bt run --resume)
    keep_last = 3            # checkpoints kept per session
    adjust = "raw"           # raw | yahoo (Adj Close and 2 decimals, as YahooFinanceCSVData)

    [commission]             # kind = none | percent | per_share | fixed
    kind = "percent"
    rate = "0.001"           # 0.1 % of traded notional

    [slippage]               # kind = none | percent | bps | fixed | volume_share
    kind = "bps"
    bps = 5

    [fill]                   # volume_cap = none | participation | fixed_size | bar_percent
    volume_cap = "participation"
    fraction = "0.1"

    [risk]                   # RiskConfig.from_dict layout (finbot_bt.contracts.risk)
    order_size = { max_order_notional = 90000 }
    drawdown_limit = { max_total_drawdown_pct = 10 }

    [strategy]               # passed to the strategy as params
    fast = 10

A ``[latency]`` table gives the legs in milliseconds: ``submission_ms``,
``fill_min_ms``, ``fill_max_ms``, ``cancel_ms``.

Types are strict: integers (``seed``, ``checkpoint_every``) must be TOML
integers (not ``true``, ``"7"`` or ``7.0``), booleans TOML booleans, names TOML
strings; amounts (``cash``, rates, fractions) take a number or a decimal string
(``"0.001"``) but never a boolean. An unknown key's message suggests the
nearest valid one ("unknown key 'latncy'; did you mean 'latency'?").
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    ValidationError,
)

from finbot_bt.contracts.latency import LatencyConfig, latency_profile
from finbot_bt.contracts.risk import RiskConfig
from finbot_bt.errors import ConfigError, ContractError, did_you_mean
from finbot_bt.execution.commission import (
    CommissionModel,
    FixedCommission,
    NoCommission,
    PercentCommission,
    PerShareCommission,
)
from finbot_bt.execution.fills import BarPercentCap, FillConfig, FixedSizeCap, ParticipationCap, VolumeCap
from finbot_bt.execution.slippage import (
    BasisPointsSlippage,
    FixedAmountSlippage,
    NoSlippage,
    PercentSlippage,
    SlippageModel,
    VolumeShareSlippage,
)

NonNegative = Annotated[Decimal, Field(ge=0)]
Milliseconds = Annotated[Decimal, Field(ge=0)]
ProfileName = Literal["instant", "fast", "normal", "slow"]
_TAGS = ("profile", "table")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LatencyTable(_Table):
    """Custom latency legs, milliseconds of simulated time."""

    submission_ms: Milliseconds = Decimal(0)
    fill_min_ms: Milliseconds = Decimal(0)
    fill_max_ms: Milliseconds = Decimal(0)
    cancel_ms: Milliseconds = Decimal(0)
    name: StrictStr = "custom"

    def build(self) -> LatencyConfig:
        def ms(value: Decimal) -> timedelta:
            return timedelta(microseconds=int(value * 1000))

        return LatencyConfig(submission_latency=ms(self.submission_ms), fill_latency_min=ms(self.fill_min_ms),
                             fill_latency_max=ms(self.fill_max_ms), cancel_latency=ms(self.cancel_ms),
                             name=self.name)


class CommissionTable(_Table):
    """A core commission model: ``kind`` and its ``rate`` / ``minimum`` / ``amount``."""

    kind: Literal["none", "percent", "per_share", "fixed"] = "none"
    rate: NonNegative | None = None
    minimum: NonNegative = Decimal(0)
    amount: NonNegative | None = None

    def build(self) -> CommissionModel:
        if self.kind == "none":
            return NoCommission()
        if self.kind == "fixed":
            return FixedCommission(amount=_required("commission.amount", self.amount))
        rate = _required("commission.rate", self.rate)
        if self.kind == "percent":
            return PercentCommission(rate=rate, minimum=self.minimum)
        return PerShareCommission(rate=rate, minimum=self.minimum)


class SlippageTable(_Table):
    """A core slippage model: ``kind`` and its ``rate`` / ``bps`` / ``amount`` / ``impact``."""

    kind: Literal["none", "percent", "bps", "fixed", "volume_share"] = "none"
    rate: NonNegative | None = None
    bps: NonNegative | None = None
    amount: NonNegative | None = None
    impact: NonNegative = Decimal("0.1")

    def build(self) -> SlippageModel:
        if self.kind == "none":
            return NoSlippage()
        if self.kind == "percent":
            return PercentSlippage(rate=_required("slippage.rate", self.rate))
        if self.kind == "bps":
            return BasisPointsSlippage(bps=_required("slippage.bps", self.bps))
        if self.kind == "fixed":
            return FixedAmountSlippage(amount=_required("slippage.amount", self.amount))
        return VolumeShareSlippage(impact=self.impact)


class FillTable(_Table):
    """Volume cap (partial fills) and funds checks (:class:`FillConfig`)."""

    volume_cap: Literal["none", "participation", "fixed_size", "bar_percent"] = "none"
    fraction: NonNegative | None = None
    size: NonNegative | None = None
    percent: NonNegative | None = None
    check_funds_on_submit: StrictBool = True
    refuse_unfunded_fills: StrictBool = True

    def build(self) -> FillConfig:
        cap: VolumeCap | None = None
        if self.volume_cap == "participation":
            cap = ParticipationCap(fraction=_required("fill.fraction", self.fraction))
        elif self.volume_cap == "fixed_size":
            cap = FixedSizeCap(size=self.size)
        elif self.volume_cap == "bar_percent":
            cap = BarPercentCap(percent=_required("fill.percent", self.percent))
        return FillConfig(volume_cap=cap, check_funds_on_submit=self.check_funds_on_submit,
                          refuse_unfunded_fills=self.refuse_unfunded_fills)


def _latency_kind(value: object) -> str:
    return "profile" if isinstance(value, str) else "table"


class RunConfig(_Table):
    """The whole ``run.toml`` file; see the module docstring."""

    cash: Annotated[Decimal, Field(gt=0)] = Decimal(100000)
    latency: Annotated[
        Annotated[ProfileName, Tag("profile")] | Annotated[LatencyTable, Tag("table")],
        Discriminator(_latency_kind),
    ] = "instant"
    seed: StrictInt = 0
    simulator_id: StrictStr | None = None
    checkpoint_dir: StrictStr | None = None
    checkpoint_every: Annotated[StrictInt, Field(gt=0)] | None = None
    resume: StrictBool = False
    keep_last: Annotated[StrictInt, Field(gt=0)] | None = 3
    adjust: Literal["raw", "yahoo"] = "raw"
    commission: CommissionTable | None = None
    slippage: SlippageTable | None = None
    fill: FillTable | None = None
    risk: dict[str, Any] | None = None
    strategy: dict[str, Any] = Field(default_factory=dict)

    def broker_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~finbot_bt.broker.FinbotBroker`."""
        latency = self.latency if isinstance(self.latency, str) else self.latency.build()
        kwargs: dict[str, Any] = {
            "cash": float(self.cash),
            "latency": latency_profile(latency) if isinstance(latency, str) else latency,
            "seed": self.seed,
        }
        if self.simulator_id is not None:
            kwargs["simulator_id"] = self.simulator_id
        if self.checkpoint_dir is not None:
            kwargs["checkpoint_dir"] = self.checkpoint_dir
        if self.checkpoint_every is not None:
            kwargs["checkpoint_every"] = self.checkpoint_every
        if self.resume:
            if self.checkpoint_dir is None:
                raise ConfigError("resume = true needs checkpoint_dir (the folder of the session to continue)")
            kwargs["resume"] = True
        kwargs["keep_last"] = self.keep_last
        if self.commission is not None:
            kwargs["commission"] = self.commission.build()
        if self.slippage is not None:
            kwargs["slippage"] = self.slippage.build()
        if self.fill is not None:
            kwargs["fill"] = self.fill.build()
        if self.risk is not None:
            kwargs["risk"] = RiskConfig.from_dict(self.risk)
        return kwargs


def _required(key: str, value: Decimal | None) -> Decimal:
    if value is None:
        raise ConfigError(f"{key} is required for this kind")
    return value


def load_run_config(path: str | Path) -> tuple[RunConfig, dict[str, Any]]:
    """Read and validate ``path``; return the config and its broker keyword arguments.

    Raises
    ------
    ConfigError
        The file is missing, is not TOML, has an unknown key or a wrong type,
        or builds an invalid model; the message starts with the file name.
    """
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse_run_config(data, str(file))


def parse_run_config(data: dict[str, Any], source: str = "config") -> tuple[RunConfig, dict[str, Any]]:
    """Validate an already-parsed mapping (``source`` names it in errors)."""
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc, RunConfig)}") from None
    try:
        return config, config.broker_kwargs()
    except (ConfigError, ContractError) as exc:
        raise ConfigError(f"{source}: {exc}") from None


def describe_validation_error(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One line for the first error: the dotted key and what is wrong with it.

    With ``model`` (the validated class), an unknown key's message suggests the nearest valid key.
    """
    error = exc.errors()[0]
    # The latency union adds its tag to the location ("latency.table.x"); drop it.
    path = [p for p in error["loc"] if p not in _TAGS]
    key = ".".join(str(p) for p in path)
    if error["type"] == "extra_forbidden":
        hint = did_you_mean(str(path[-1]), keys_at(model, path[:-1])) if model is not None and path else ""
        return f"unknown key {key!r}{hint}"
    more = f" (and {exc.error_count() - 1} more error(s))" if exc.error_count() > 1 else ""
    return f"key {key!r}: {error['msg']}, got {error.get('input')!r}{more}"


def keys_at(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The valid keys of the table at ``path`` inside ``model`` (empty when unknown)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue  # an index into a list of tables
        if get_origin(current) is dict:
            current = get_args(current)[1]  # ``part`` is a free key of a mapping
            continue
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return []
        current = _table_type(field.annotation)
        if current is None:
            return []
    current = _table_type(current)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _table_type(annotation: Any) -> Any:
    if _is_model(annotation) or get_origin(annotation) is dict:
        return annotation
    for arg in get_args(annotation):
        found = _table_type(arg)
        if found is not None:
            return found
    return None


__all__ = ["CommissionTable", "FillTable", "LatencyTable", "RunConfig", "SlippageTable",
           "describe_validation_error", "keys_at", "load_run_config", "parse_run_config"]
