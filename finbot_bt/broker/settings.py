"""BackBroker's execution settings on FinbotBroker: parameter checks and the ``set_*`` methods.

Backtrader users configure a broker through BackBroker's parameters and setters
(``set_coc``, ``set_slippage_perc``, ``set_filler``, ...). Here each is checked
and turned into the core's configuration: a ``FillConfig``, a ``SlippageModel``
(cash and fund mode are in :mod:`~finbot_bt.broker.account`). Commission schemes need
nothing here: ``setcommission``/``addcommissioninfo`` are Backtrader's own, and
the simulator asks for them through ``BacktraderCommission``.
"""

from __future__ import annotations

import dataclasses
from datetime import time
from typing import Any

import backtrader as bt

from finbot_bt.broker.bars import BarFeeder
from finbot_bt.broker.convert import config_decimal
from finbot_bt.broker.delivery import NotificationDelivery
from finbot_bt.broker.models import BacktraderFillerCap, backbroker_slippage
from finbot_bt.broker.orders import OrderRouter
from finbot_bt.contracts.latency import LatencyConfig, resolve_latency
from finbot_bt.errors import ConfigError
from finbot_bt.execution.commission import CommissionModel
from finbot_bt.execution.fills import FillConfig
from finbot_bt.execution.journal import JournalConfig
from finbot_bt.execution.simulator import ExecutionSimulator
from finbot_bt.execution.slippage import SlippageModel


class BackBrokerSettings:
    """Mixin of FinbotBroker: BackBroker's parameters and execution setters, mapped onto the simulator's
    configuration."""

    p: Any
    sim: ExecutionSimulator
    _latency: LatencyConfig
    _core_commission: CommissionModel | None
    _bars: BarFeeder
    _router: OrderRouter
    _delivery: NotificationDelivery

    def _validate_params(self) -> None:
        p = self.p
        config_decimal("cash", p.cash)
        if p.cash < 0:
            raise ConfigError(f"cash must be >= 0, got {p.cash!r}")
        self._latency = resolve_latency(p.latency)
        if p.risk is not None:
            from finbot_bt.contracts.risk import RiskConfig

            if not isinstance(p.risk, RiskConfig):
                raise ConfigError(f"risk must be a RiskConfig, got {type(p.risk).__name__}")
        if p.slippage is not None and not isinstance(p.slippage, SlippageModel):
            raise ConfigError(f"slippage must be a SlippageModel, got {type(p.slippage).__name__}")
        if p.fill is not None and not isinstance(p.fill, FillConfig):
            raise ConfigError(f"fill must be a FillConfig, got {type(p.fill).__name__}")
        if isinstance(p.commission, CommissionModel):
            self._core_commission = p.commission
            p.commission = bt.CommInfoBase(percabs=True)
        if not isinstance(p.seed, int) or isinstance(p.seed, bool):
            raise ConfigError(f"seed must be an int, got {p.seed!r}")
        if not p.shortcash:
            raise ConfigError("shortcash=False is not supported: short sale proceeds are credited to cash")
        if p.journal is not None and p.journal is not False and not isinstance(p.journal, JournalConfig):
            raise ConfigError(f"journal must be a JournalConfig, False or None, got {p.journal!r}")
        if p.checkpoint_every is not None and (not isinstance(p.checkpoint_every, int) or p.checkpoint_every <= 0):
            raise ConfigError(f"checkpoint_every must be a positive int, got {p.checkpoint_every!r}")
        if p.keep_last is not None and (not isinstance(p.keep_last, int) or isinstance(p.keep_last, bool)
                                        or p.keep_last < 1):
            raise ConfigError(f"keep_last must be None or an int >= 1, got {p.keep_last!r}")
        for name in ("session_open", "session_close"):
            if not isinstance(getattr(p, name), time):
                raise ConfigError(f"{name} must be a datetime.time, got {getattr(p, name)!r}")

    def _fill_config(self) -> FillConfig:
        base = self.p.fill if self.p.fill is not None else FillConfig()
        changes: dict[str, Any] = {
            "check_funds_on_submit": bool(self.p.checksubmit) and base.check_funds_on_submit,
            "market_at_last_close": bool(self.p.coc) or base.market_at_last_close,
            "market_on_repeated_bar": bool(self.p.coo) or base.market_on_repeated_bar,
        }
        if self.p.filler is not None and base.volume_cap is None:
            changes["volume_cap"] = BacktraderFillerCap(filler=self.p.filler, resolve_order=self._router.bt_order_for,
                                                        note_size=self._delivery.filler_sizes.__setitem__,
                                                        current_time=self._bars.current_time)
        return dataclasses.replace(base, **changes)

    def _slippage_model(self) -> SlippageModel:
        if self.p.slippage is not None:
            model: SlippageModel = self.p.slippage
            return model
        p = self.p
        return backbroker_slippage(p.slip_perc, p.slip_fixed, p.slip_open, p.slip_limit, p.slip_match, p.slip_out)

    # ------------------------------------------------------------------ execution
    def set_coc(self, coc: bool) -> None:
        """Cheat-on-close: market orders fill at the close of their creation bar."""
        self.p.coc = coc
        self.sim.fill = self._fill_config()

    def set_coo(self, coo: bool) -> None:
        """Cheat-on-open: market orders placed in ``next_open`` fill at that bar's open."""
        self.p.coo = coo
        self.sim.fill = self._fill_config()

    def set_checksubmit(self, checksubmit: bool) -> None:
        self.p.checksubmit = checksubmit
        self.sim.fill = self._fill_config()

    def set_filler(self, filler: Any) -> None:
        """Use a Backtrader filler (volume-based partial fills)."""
        self.p.filler = filler
        self.sim.fill = self._fill_config()

    def set_slippage_perc(self, perc: float, slip_open: bool = True, slip_limit: bool = True,
                          slip_match: bool = True, slip_out: bool = False) -> None:
        """BackBroker's percentage slippage (``perc`` 0.01 = 1 %)."""
        self.p.slip_perc, self.p.slip_fixed = perc, 0.0
        self._set_slip_flags(slip_open, slip_limit, slip_match, slip_out)

    def set_slippage_fixed(self, fixed: float, slip_open: bool = True, slip_limit: bool = True,
                           slip_match: bool = True, slip_out: bool = False) -> None:
        """BackBroker's fixed slippage (price units)."""
        self.p.slip_perc, self.p.slip_fixed = 0.0, fixed
        self._set_slip_flags(slip_open, slip_limit, slip_match, slip_out)

    def _set_slip_flags(self, slip_open: bool, slip_limit: bool, slip_match: bool, slip_out: bool) -> None:
        p = self.p
        p.slip_open, p.slip_limit, p.slip_match, p.slip_out = slip_open, slip_limit, slip_match, slip_out
        self.sim.slippage = self._slippage_model()

    def set_int2pnl(self, int2pnl: bool) -> None:
        self.p.int2pnl = int2pnl

    def set_shortcash(self, shortcash: bool) -> None:
        if not shortcash:
            raise ConfigError("shortcash=False is not supported: short sale proceeds are credited to cash")

    def set_eosbar(self, eosbar: bool) -> None:
        self.p.eosbar = eosbar

    seteosbar = set_eosbar
