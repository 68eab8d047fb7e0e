"""BackBrokerSettings: BackBroker's parameters and execution setters, mapped onto the core's configuration."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.broker.models import BacktraderFillerCap, backbroker_slippage
from finbot_bt.errors import ConfigError
from finbot_bt.execution import FillConfig
from finbot_bt.execution.commission import CommissionModel


def started(**params: Any) -> FinbotBroker:
    broker = FinbotBroker(**params)
    broker.init()
    return broker


def test_settings_when_slippage_is_set_then_the_simulator_gets_backbrokers_model() -> None:
    broker = started()
    broker.set_slippage_perc(0.01, slip_open=False, slip_out=True)
    assert broker.sim.slippage == backbroker_slippage(0.01, 0.0, False, True, True, True)
    broker.set_slippage_fixed(0.25)
    assert broker.sim.slippage == backbroker_slippage(0.0, 0.25, True, True, True, False)
    assert (broker.p.slip_perc, broker.p.slip_fixed) == (0.0, 0.25)


def test_settings_when_coc_coo_and_checksubmit_change_then_the_fill_config_follows() -> None:
    broker = started()
    assert (broker.sim.fill.market_at_last_close, broker.sim.fill.market_on_repeated_bar,
            broker.sim.fill.check_funds_on_submit) == (False, False, True)
    broker.set_coc(True)
    broker.set_coo(True)
    broker.set_checksubmit(False)
    assert (broker.sim.fill.market_at_last_close, broker.sim.fill.market_on_repeated_bar,
            broker.sim.fill.check_funds_on_submit) == (True, True, False)


def test_settings_when_a_fill_config_is_given_then_setters_add_to_it_and_never_undo_it() -> None:
    broker = started(fill=FillConfig(market_at_last_close=True, check_funds_on_submit=False))
    broker.set_coc(False)
    broker.set_checksubmit(True)
    assert broker.sim.fill.market_at_last_close is True
    assert broker.sim.fill.check_funds_on_submit is False


def test_settings_when_a_filler_is_set_then_it_caps_volume_until_removed() -> None:
    broker = started()
    filler = bt.broker.fillers.FixedSize(size=5)
    broker.set_filler(filler)
    cap = broker.sim.fill.volume_cap
    assert isinstance(cap, BacktraderFillerCap) and cap.filler is filler
    broker.set_filler(None)
    assert broker.sim.fill.volume_cap is None


def test_settings_when_a_core_commission_model_is_given_then_backtraders_scheme_is_neutral() -> None:
    class Flat(CommissionModel):
        def commission(self, quantity: Decimal, price: Decimal, instrument: Any, first_fill: bool) -> Decimal:
            return Decimal(1)

    model = Flat()
    broker = started(commission=model)
    assert broker.sim.commission is model
    assert broker.p.commission.p.percabs is True and broker.p.commission.p.commission == 0.0


@pytest.mark.parametrize(("params", "message"), [
    ({"cash": -1}, "cash must be >= 0"),
    ({"cash": float("nan")}, "cash"),
    ({"seed": "1"}, "seed must be an int"),
    ({"seed": True}, "seed must be an int"),
    ({"shortcash": False}, "shortcash=False is not supported"),
    ({"journal": "yes"}, "journal must be a JournalConfig"),
    ({"checkpoint_every": 0}, "checkpoint_every must be a positive int"),
    ({"keep_last": 0}, "keep_last must be None or an int >= 1"),
    ({"session_close": "16:00"}, "session_close must be a datetime.time"),
    ({"risk": {"max_position": 1}}, "risk must be a RiskConfig"),
    ({"slippage": 0.01}, "slippage must be a SlippageModel"),
    ({"fill": {"volume_cap": None}}, "fill must be a FillConfig"),
], ids=["negative-cash", "nan-cash", "str-seed", "bool-seed", "shortcash", "journal", "checkpoint-every",
        "keep-last", "session-close", "risk", "slippage", "fill"])
def test_settings_when_a_parameter_is_invalid_then_config_error_names_it(params: dict[str, Any],
                                                                         message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FinbotBroker(**params)


def test_settings_when_shortcash_is_turned_off_later_then_config_error() -> None:
    broker = started()
    with pytest.raises(ConfigError, match="shortcash=False"):
        broker.set_shortcash(False)
    broker.set_shortcash(True)


def test_settings_when_session_times_are_valid_then_they_are_kept() -> None:
    broker = started(session_open=time(8, 0), session_close=time(15, 0))
    assert (broker.p.session_open, broker.p.session_close) == (time(8, 0), time(15, 0))
