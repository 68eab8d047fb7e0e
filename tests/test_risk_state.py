"""risk_state: the risk engine's checkpointed state round-trips and rejects bad keys."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from finbot_bt.contracts import RejectionReason, TradingState
from finbot_bt.contracts.risk import DrawdownLimitRule, OrderRateLimit, RiskConfig
from finbot_bt.errors import CheckpointError
from finbot_bt.execution.risk import RiskEngine
from finbot_bt.execution.risk_state import RiskBreach, encode_risk_state, parse_risk_state
from tests.factories import T0, d

CONFIG = RiskConfig(
    drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=d(5)),
    order_rate=OrderRateLimit(max_orders=2, interval=timedelta(seconds=1)),
)


def test_risk_state_when_encoded_through_json_then_parses_to_the_same_values() -> None:
    engine = RiskEngine(CONFIG)
    breach = engine.update_state(Decimal(1000), T0)
    assert breach is None
    breach = engine.update_state(Decimal(900), T0 + timedelta(hours=1))
    assert isinstance(breach, RiskBreach) and engine.latched
    pending = RiskBreach(rule="r", reason=RejectionReason.RISK_DRAWDOWN_LIMIT, message="m",
                         state=TradingState.HALTED)
    data = json.loads(json.dumps(encode_risk_state(engine, pending)))
    parsed, restored = parse_risk_state(data)
    assert restored == pending
    assert (parsed.peak_equity, parsed.daily_baseline, parsed.baseline_day, parsed.last_equity) == (
        Decimal(1000), Decimal(1000), T0.date(), Decimal(900))
    assert (parsed.latched, parsed.latched_rule, parsed.bucket_level) == (True, breach.rule, engine.bucket_level)


def test_risk_state_when_engine_restores_its_own_state_then_state_is_equal() -> None:
    engine = RiskEngine(CONFIG)
    engine.update_state(Decimal(1000), T0)
    engine.update_state(Decimal(900), T0 + timedelta(hours=1))
    copy = RiskEngine(CONFIG)
    copy.restore_state(engine.state())
    assert copy.state() == engine.state()


@pytest.mark.parametrize(
    ("change", "where"),
    [({"surprise": 1}, "surprise"), ({"bucket_level": "3"}, "bucket_level"), ({"version": 2}, "version")],
    ids=["unknown-key", "wrong-type", "future-version"],
)
def test_risk_state_when_data_is_bad_then_checkpoint_error_names_the_key(change: dict[str, object], where: str) -> None:
    data = {**encode_risk_state(RiskEngine(CONFIG), None), **change}
    with pytest.raises(CheckpointError, match=where):
        parse_risk_state(data)
