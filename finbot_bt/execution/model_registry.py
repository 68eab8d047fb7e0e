"""Registry of serializable cost and fill models (for checkpoints).

A model is written as ``{"type": name, "fields": {...}}`` where ``name`` is
its registered name and ``fields`` its dataclass fields (Decimal as string,
nested models as nested specs). Loading looks the name up in this registry
only: a checkpoint can never make the loader import or call anything else.
The built-in slippage, commission and fill models are registered; register
your own frozen dataclass models with :func:`register_model` before saving
or loading a checkpoint that uses them.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, get_args, get_type_hints

from finbot_bt.contracts.codec import decode_decimal
from finbot_bt.errors import CheckpointError, ConfigError, ContractError
from finbot_bt.execution import commission, fills, slippage

_REGISTRY: dict[str, type] = {}


def register_model(cls: type, name: str | None = None) -> type:
    """Make the dataclass model ``cls`` storable in checkpoints under ``name`` (default: class name).

    Its fields may hold Decimal, bool, int, str, None or other registered models.
    Usable as a class decorator.
    """
    if not dataclasses.is_dataclass(cls):
        raise ConfigError(f"{cls.__name__} must be a dataclass to be stored in checkpoints")
    key = name or cls.__name__
    existing = _REGISTRY.get(key)
    if existing is not None and existing is not cls:
        raise ConfigError(f"model name {key!r} is already registered for {existing.__module__}.{existing.__name__}")
    _REGISTRY[key] = cls
    return cls


def registered_models() -> dict[str, type]:
    """A copy of the registry: name -> class."""
    return dict(_REGISTRY)


for _cls in (
    slippage.NoSlippage, slippage.PercentSlippage, slippage.BasisPointsSlippage,
    slippage.FixedAmountSlippage, slippage.VolumeShareSlippage,
    commission.NoCommission, commission.PerShareCommission, commission.PerContractCommission,
    commission.PercentCommission, commission.FixedCommission,
    fills.ParticipationCap, fills.FixedSizeCap, fills.BarPercentCap, fills.FillConfig,
):
    register_model(_cls)


def _name_of(model: object) -> str:
    cls = type(model)
    for key, registered in _REGISTRY.items():
        if registered is cls:
            return key
    raise CheckpointError(
        f"cannot checkpoint a {cls.__module__}.{cls.__qualname__}: it is not a registered model; "
        "make it a frozen dataclass and call finbot_bt.execution.model_registry.register_model() on it"
    )


def encode_model(model: object) -> dict[str, Any]:
    """``{"type": name, "fields": {...}}`` for a registered dataclass model."""
    name = _name_of(model)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(model):  # type: ignore[arg-type]
        values[field.name] = _encode_field(name, field.name, getattr(model, field.name))
    return {"type": name, "fields": values}


def _encode_field(model: str, field: str, value: object) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_model(value)
    raise CheckpointError(f"cannot checkpoint {model}.{field}: unsupported value type {type(value).__name__}")


def decode_model(spec: object, context: str = "model") -> Any:
    """Inverse of :func:`encode_model`; raises CheckpointError on anything unexpected."""
    if not isinstance(spec, dict) or set(spec) != {"type", "fields"} or not isinstance(spec["fields"], dict):
        raise CheckpointError(f"{context} must be {{'type': name, 'fields': {{...}}}}")
    name = spec["type"]
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CheckpointError(f"{context}: unknown model type {name!r}; registered: {sorted(_REGISTRY)}")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(spec["fields"]) - known
    if unknown:
        raise CheckpointError(f"{context}: {name} has no field(s) {sorted(unknown)}")
    values = {key: _decode_field(f"{context}.{key}", hints[key], value) for key, value in spec["fields"].items()}
    try:
        return cls(**values)
    except (ConfigError, ContractError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{context}: cannot build {name}: {exc}") from None


def _decode_field(context: str, hint: Any, value: object) -> Any:
    options = get_args(hint) or (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise CheckpointError(f"{context} must not be null")
    if isinstance(value, dict):
        model = decode_model(value, context)
        if not any(isinstance(o, type) and isinstance(model, o) for o in options):
            raise CheckpointError(f"{context}: a {type(model).__name__} does not fit {hint!r}")
        return model
    if Decimal in options and isinstance(value, str):
        try:
            return decode_decimal(context, value)
        except ContractError as exc:
            raise CheckpointError(str(exc)) from None
    for option in (bool, int, str):
        if option in options and type(value) is option:
            return value
    raise CheckpointError(f"{context}: {value!r} does not fit {hint!r}")
