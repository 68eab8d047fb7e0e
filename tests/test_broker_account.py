"""BackBrokerAccount: cash, value and fund mode as BackBroker reports them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from finbot_bt import FinbotBroker
from tests.bt_harness import Plan, make_ohlcv, pandas_feed, run

FRAME = make_ohlcv(20, seed=8)


def daily() -> list[Any]:
    return [pandas_feed(FRAME, name="A")]


def test_account_when_cash_is_set_then_broker_and_simulator_agree() -> None:
    broker = FinbotBroker()
    broker.init()
    broker.set_cash(2500)
    assert (broker.getcash(), broker.startingcash, broker.getvalue()) == (2500, 2500, 2500)
    assert type(broker.getcash()) is int  # as BackBroker: the type given, until the cash changes
    assert broker.sim.portfolio.cash == Decimal(2500)
    assert broker.sim.initial_cash == Decimal(2500)


def test_account_when_cash_is_added_then_it_is_booked_at_the_next_cycle() -> None:
    seen: list[tuple[int, float]] = []

    def note(s: Any) -> None:
        seen.append((len(s), s.broker.getcash()))

    plan: Plan = {3: [lambda s: s.broker.add_cash(500), note], 4: [note]}
    run(FinbotBroker, daily, plan)
    assert seen == [(3, 10000.0), (4, 10500.0)]


def test_account_when_positions_are_open_then_value_is_cash_plus_their_value() -> None:
    seen: dict[str, Any] = {}

    def note(s: Any) -> None:
        broker = s.broker
        seen.update(cash=broker.getcash(), value=broker.getvalue(), market=broker.getvalue(mkt=True),
                    position=broker.getvalue(datas=[s.data]), close=s.data.close[0],
                    size=broker.getposition(s.data).size)

    run(FinbotBroker, daily, {3: [lambda s: s.buy(size=10)], 8: [note]})
    assert seen["size"] == 10
    assert seen["position"] == 10 * seen["close"]
    assert seen["value"] == seen["cash"] + seen["position"]
    assert seen["market"] == seen["value"] - seen["cash"]


def test_account_when_fund_mode_is_on_then_deposits_buy_shares_at_the_fund_value() -> None:
    seen: dict[str, Any] = {}

    def setup(s: Any) -> None:
        s.broker.set_fundmode(True, 50.0)

    def after(s: Any) -> None:
        seen.update(mode=s.broker.fundmode, shares=s.broker.fundshares, value=s.broker.fundvalue)

    run(FinbotBroker, daily, {2: [lambda s: s.broker.add_cash(1000)], 5: [after]}, on_start=setup)
    assert seen["mode"] is True
    # 10,000 at 50 a share is 200 shares; 1,000 more at the unchanged fund value of 50 is 20 more.
    assert seen["shares"] == 220.0
    assert seen["value"] == 50.0
    assert FinbotBroker().get_leverage() == 1.0
