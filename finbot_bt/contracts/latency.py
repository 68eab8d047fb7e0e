"""Latency configuration and the named profiles.

Latency is simulated time, in three legs: submission (order reaches the
venue), fill report (a fill reaches the account) and cancel (a cancel request
reaches the venue). Fill latency is drawn uniformly from
``[fill_latency_min, fill_latency_max]`` with the simulator's seeded RNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from finbot_bt.contracts._validate import require_timedelta
from finbot_bt.errors import ConfigError, ContractError


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencyConfig:
    """Latency legs, each a non-negative :class:`~datetime.timedelta`."""

    submission_latency: timedelta = timedelta(0)
    fill_latency_min: timedelta = timedelta(0)
    fill_latency_max: timedelta = timedelta(0)
    cancel_latency: timedelta = timedelta(0)
    name: str = "custom"

    def __post_init__(self) -> None:
        for field in ("submission_latency", "fill_latency_min", "fill_latency_max", "cancel_latency"):
            require_timedelta(f"LatencyConfig.{field}", getattr(self, field))
        if self.fill_latency_min > self.fill_latency_max:
            raise ContractError(
                f"LatencyConfig.fill_latency_min {self.fill_latency_min} exceeds "
                f"fill_latency_max {self.fill_latency_max}"
            )

    @property
    def is_instant(self) -> bool:
        """True when every leg is zero."""
        zero = timedelta(0)
        return (
            self.submission_latency == zero
            and self.fill_latency_max == zero
            and self.cancel_latency == zero
        )


def _ms(value: int) -> timedelta:
    return timedelta(milliseconds=value)


LATENCY_INSTANT = LatencyConfig(name="instant")
LATENCY_FAST = LatencyConfig(
    submission_latency=_ms(10), fill_latency_min=_ms(50), fill_latency_max=_ms(100),
    cancel_latency=_ms(20), name="fast",
)
LATENCY_NORMAL = LatencyConfig(
    submission_latency=_ms(50), fill_latency_min=_ms(100), fill_latency_max=_ms(200),
    cancel_latency=_ms(50), name="normal",
)
LATENCY_SLOW = LatencyConfig(
    submission_latency=_ms(100), fill_latency_min=_ms(500), fill_latency_max=_ms(1000),
    cancel_latency=_ms(100), name="slow",
)

LATENCY_PROFILES: dict[str, LatencyConfig] = {
    p.name: p for p in (LATENCY_INSTANT, LATENCY_FAST, LATENCY_NORMAL, LATENCY_SLOW)
}


def latency_profile(name: str) -> LatencyConfig:
    """Return the named profile (``instant``, ``fast``, ``normal``, ``slow``; case-insensitive)."""
    try:
        return LATENCY_PROFILES[name.lower()]
    except (KeyError, AttributeError):
        raise ConfigError(
            f"unknown latency profile {name!r}; choose one of {sorted(LATENCY_PROFILES)}"
        ) from None


def resolve_latency(value: LatencyConfig | str | None) -> LatencyConfig:
    """Accept a LatencyConfig, a profile name or None (instant)."""
    if value is None:
        return LATENCY_INSTANT
    if isinstance(value, LatencyConfig):
        return value
    if isinstance(value, str):
        return latency_profile(value)
    raise ConfigError(f"latency must be a LatencyConfig or a profile name, got {value!r}")
