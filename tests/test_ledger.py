"""Ledger: the batch funds check and fill booking with commissions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from finbot_bt.contracts import Instrument, OrderSide, RejectionReason
from finbot_bt.errors import ConfigError, ContractError, MarketDataError
from finbot_bt.execution.accounting import Portfolio
from finbot_bt.execution.commission import CommissionModel, FixedCommission, NoCommission
from finbot_bt.execution.ledger import Ledger
from tests.factories import order


def _ledger(cash: str = "1000", commission: CommissionModel | None = None, refuse: bool = False) -> Ledger:
    return Ledger(Portfolio(Decimal(cash)), commission or NoCommission(), refuse)


def test_ledger_when_orders_checked_in_one_batch_then_each_sees_the_cash_left_by_the_others() -> None:
    ledger = _ledger("1000")
    assert ledger.check_funds(order(quantity=6), Decimal(100)) is None
    refusal = ledger.check_funds(order(quantity=6), Decimal(100))
    assert refusal is not None and refusal[0] is RejectionReason.INSUFFICIENT_FUNDS
    assert "short by 200" in refusal[1]
    assert ledger.batch_cash == Decimal(400) and ledger.batch_positions["SPY"] == (Decimal(6), Decimal(100))
    ledger.start_batch()
    assert ledger.check_funds(order(quantity=6), Decimal(100)) is None  # a new batch starts from the account


def test_ledger_when_no_price_then_funds_check_passes_and_counts_nothing() -> None:
    ledger = _ledger("0")
    assert ledger.check_funds(order(quantity=1), None) is None
    assert ledger.batch_cash is None


def test_ledger_when_fills_booked_then_first_fill_pays_the_order_commission_once() -> None:
    ledger = _ledger("1000", FixedCommission(amount=Decimal(5)))
    booking, closed_commission, opened_commission, pos = ledger.book_fill(
        "SPY", OrderSide.BUY, Decimal(4), Decimal(100), first=True)
    assert (booking.opened, opened_commission, closed_commission) == (Decimal(4), Decimal(5), Decimal(0))
    assert ledger.portfolio.cash == Decimal(595) and pos.quantity == Decimal(4)
    _, _, opened_commission, _ = ledger.book_fill("SPY", OrderSide.BUY, Decimal(1), Decimal(100), first=False)
    assert opened_commission == Decimal(0) and ledger.portfolio.cash == Decimal(495)


def test_ledger_when_fill_reverses_position_then_closing_and_opening_parts_are_split() -> None:
    ledger = _ledger("1000")
    ledger.book_fill("SPY", OrderSide.BUY, Decimal(3), Decimal(100), first=True)
    booking, _, _, pos = ledger.book_fill("SPY", OrderSide.SELL, Decimal(5), Decimal(110), first=True)
    assert (booking.closed, booking.opened, booking.realized_pnl) == (Decimal(-3), Decimal(-2), Decimal(30))
    assert (pos.quantity, pos.avg_price) == (Decimal(-2), Decimal(110))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Negative(CommissionModel):
    def commission(self, quantity: Decimal, price: Decimal, instrument: Instrument, first_fill: bool) -> Decimal:
        return Decimal(-1)


def test_ledger_when_commission_model_returns_a_negative_then_raises_before_booking() -> None:
    ledger = _ledger("1000", _Negative())
    with pytest.raises(ContractError, match="_Negative returned"):
        ledger.book_fill("SPY", OrderSide.BUY, Decimal(1), Decimal(100), first=True)
    assert ledger.portfolio.cash == Decimal(1000) and ledger.portfolio.positions["SPY"].quantity == 0


def test_ledger_when_unfunded_opening_and_refusal_on_then_opening_is_refused() -> None:
    ledger = _ledger("100", refuse=True)
    booking, _, _, pos = ledger.book_fill("SPY", OrderSide.BUY, Decimal(2), Decimal(100), first=True)
    assert booking.opening_refused and pos.quantity == 0 and ledger.portfolio.cash == Decimal(100)


def test_ledger_when_valuing_then_given_prices_win_over_last_closes() -> None:
    ledger = _ledger("1000")
    ledger.book_fill("SPY", OrderSide.BUY, Decimal(2), Decimal(100), first=True)
    assert ledger.holds("SPY") and not ledger.holds("QQQ")
    assert ledger.equity({"SPY": Decimal(110)}, None) == Decimal(1020)
    assert ledger.equity({"SPY": Decimal(110)}, {"SPY": Decimal(90)}) == Decimal(980)
    with pytest.raises(MarketDataError, match="no price known for held symbol 'SPY'"):
        ledger.equity({}, None)


def test_ledger_when_cash_added_is_not_a_finite_decimal_then_config_error() -> None:
    ledger = _ledger("1000")
    with pytest.raises(ConfigError):
        ledger.add_cash(Decimal("NaN"))
    ledger.add_cash(Decimal("-250"))
    assert ledger.portfolio.cash == Decimal(750)
