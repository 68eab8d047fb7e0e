"""Contracts: validation of value objects, the status transition table, latency profiles."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finbot_bt.contracts import (
    LATENCY_PROFILES,
    Bar,
    Instrument,
    LatencyConfig,
    Order,
    OrderExecution,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
    latency_profile,
    resolve_latency,
)
from finbot_bt.errors import (
    ConfigError,
    ContractError,
    FinbotError,
    InvalidStateTransition,
    MarketDataError,
)
from tests.factories import T0, bar, d, ms, order

S = OrderStatus


# ---------------------------------------------------------------- Order

@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("order_id", ""),
        ("order_id", 7),
        ("symbol", None),
        ("side", "buy"),
        ("order_type", "market"),
        ("time_in_force", "gtc"),
        ("status", "new"),
        ("quantity", 10),
        ("quantity", 10.0),
        ("quantity", "10"),
        ("limit_price", 100.5),
        ("stop_price", 1),
        ("trail_amount", "2"),
        ("trail_percent", 0.02),
        ("filled_quantity", Decimal("-1")),
        ("filled_quantity", Decimal("11")),
        ("filled_quantity", Decimal("NaN")),
        ("avg_fill_price", 100),
        ("expire_at", "2024-01-02"),
        ("created_at", 0),
        ("executions", []),
    ],
    ids=lambda v: repr(v),
)
def test_order_when_field_malformed_then_contract_error(field: str, value: object) -> None:
    with pytest.raises(ContractError):
        dataclasses.replace(order(quantity=10), **{field: value})


@pytest.mark.parametrize(
    "quantity", ["0", "-5", "NaN", "Infinity", "-Infinity"], ids=["zero", "negative", "nan", "inf", "-inf"]
)
def test_order_when_quantity_not_positive_then_constructs_for_simulator_to_reject(quantity: str) -> None:
    built = order(quantity=quantity)
    assert str(built.quantity) == str(Decimal(quantity))
    assert built.filled_quantity == 0


def test_order_when_buy_or_sell_then_signed_and_remaining_quantity() -> None:
    buy = dataclasses.replace(order("buy", "10"), filled_quantity=Decimal("4"))
    sell = order("sell", "7")
    assert (buy.signed_quantity, buy.remaining_quantity) == (Decimal(10), Decimal(6))
    assert (sell.signed_quantity, sell.remaining_quantity) == (Decimal(-7), Decimal(7))
    assert OrderSide.BUY.sign == 1 and OrderSide.SELL.sign == -1


def test_order_when_replaced_then_original_unchanged_and_frozen() -> None:
    original = order(quantity=10)
    changed = dataclasses.replace(original, status=S.SUBMITTED)
    assert original.status is S.NEW and changed.status is S.SUBMITTED
    with pytest.raises(dataclasses.FrozenInstanceError):
        original.quantity = Decimal(1)  # type: ignore[misc]


# ---------------------------------------------------------------- OrderExecution

def _execution(**changes: object) -> OrderExecution:
    fields: dict[str, object] = dict(
        execution_id="o-1-1", quantity=d("10"), price=d("100.5"), commission=d("1"),
        slippage=d("0"), timestamp=T0,
    )
    fields.update(changes)
    return OrderExecution(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", d("0")),
        ("quantity", d("-1")),
        ("quantity", 10),
        ("quantity", d("NaN")),
        ("price", d("0")),
        ("price", 100.5),
        ("price", d("Infinity")),
        ("commission", d("-0.01")),
        ("commission", d("NaN")),
        ("slippage", 0.1),
        ("slippage", d("sNaN")),
        ("timestamp", None),
        ("timestamp", "2024-01-02"),
        ("reported_at", 5),
    ],
    ids=lambda v: repr(v),
)
def test_execution_when_field_malformed_then_contract_error(field: str, value: object) -> None:
    with pytest.raises(ContractError):
        _execution(**{field: value})


def test_execution_when_valid_then_negative_slippage_allowed() -> None:
    execution = _execution(slippage=d("-0.25"), reported_at=T0 + ms(5))
    assert execution.slippage == Decimal("-0.25")
    assert execution.reported_at == T0 + ms(5)


# ---------------------------------------------------------------- Bar

@pytest.mark.parametrize(
    ("ohlc", "extra"),
    [
        (("100", "99", "101", "100"), {}),
        (("100", "101", "99", "102"), {}),
        (("98", "101", "99", "100"), {}),
        (("0", "0", "0", "0"), {}),
        (("-1", "1", "-1", "1"), {}),
        (("NaN", "101", "99", "100"), {}),
        (("100", "Infinity", "99", "100"), {}),
        (("100", "101", "99", "100"), {"volume": Decimal("-1")}),
        (("100", "101", "99", "100"), {"volume": Decimal("NaN")}),
        (("100", "101", "99", "100"), {"volume": 5}),
        (("100", "101", "99", "100"), {"open_time": T0 + timedelta(seconds=1)}),
        (("100", "101", "99", "100"), {"timestamp": "2024-01-02"}),
        (("100", "101", "99", "100"), {"open_time": 3}),
    ],
    ids=[
        "high-below-low", "close-above-high", "open-below-low", "zero", "negative", "nan", "inf",
        "negative-volume", "nan-volume", "int-volume", "open-time-after-close", "str-timestamp",
        "int-open-time",
    ],
)
def test_bar_when_malformed_then_market_data_error(ohlc: tuple[str, ...], extra: dict[str, object]) -> None:
    fields: dict[str, object] = dict(zip(("open", "high", "low", "close"), map(Decimal, ohlc), strict=True))
    fields["timestamp"] = T0
    fields.update(extra)
    with pytest.raises(MarketDataError):
        Bar(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [100.0, 100, "100"], ids=["float", "int", "str"])
def test_bar_when_price_not_decimal_then_market_data_error(value: object) -> None:
    with pytest.raises(MarketDataError):
        Bar(open=value, high=d(101), low=d(99), close=d(100), timestamp=T0)  # type: ignore[arg-type]


def test_market_data_error_when_raised_then_is_value_error_and_finbot_error() -> None:
    assert issubclass(MarketDataError, ValueError)
    assert issubclass(MarketDataError, FinbotError)


def test_bar_when_from_price_then_degenerate_without_volume() -> None:
    made = Bar.from_price(d("101.25"), T0)
    assert (made.open, made.high, made.low, made.close) == (d("101.25"),) * 4
    assert made.volume is None and made.open_time is None and made.session_close


def test_bar_when_valid_then_fields_kept() -> None:
    made = bar("100", "101", "99", "100.5", T0, volume="0", open_time=T0 - timedelta(days=1))
    assert made.volume == 0 and made.close == Decimal("100.5")


# ---------------------------------------------------------------- Instrument and Position

@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"multiplier": Decimal(0)}, ContractError),
        ({"multiplier": Decimal(-10)}, ContractError),
        ({"multiplier": 10}, ContractError),
        ({"margin": Decimal(-1)}, ContractError),
        ({"margin": 1000}, ContractError),
    ],
    ids=["zero-mult", "negative-mult", "int-mult", "negative-margin", "int-margin"],
)
def test_instrument_when_malformed_then_contract_error(fields: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        Instrument(symbol="ES", **fields)  # type: ignore[arg-type]


def test_instrument_when_margin_set_then_futures_like() -> None:
    assert Instrument(symbol="ES", margin=d(1000), multiplier=d(10)).is_futures_like
    assert not Instrument(symbol="SPY").is_futures_like


def test_position_when_float_field_then_contract_error() -> None:
    with pytest.raises(ContractError):
        Position(symbol="SPY", quantity=1.0)  # type: ignore[arg-type]
    assert Position(symbol="SPY").is_flat


# ---------------------------------------------------------------- transition table

LEGAL = {
    S.NEW: {S.SUBMITTED, S.REJECTED},
    S.SUBMITTED: {S.ACCEPTED, S.REJECTED, S.PENDING_CANCEL, S.CANCELLED},
    S.ACCEPTED: {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.REJECTED, S.EXPIRED},
    S.PARTIALLY_FILLED: {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.REJECTED, S.EXPIRED},
    S.PENDING_CANCEL: {S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED},
    S.FILLED: set(),
    S.CANCELLED: set(),
    S.REJECTED: set(),
    S.EXPIRED: set(),
}
PAIRS = [(a, b) for a in S for b in S]


@pytest.mark.parametrize(
    ("source", "target"),
    [p for p in PAIRS if p[1] in LEGAL[p[0]]],
    ids=lambda s: s.value,
)
def test_transition_when_legal_then_returns_target(source: OrderStatus, target: OrderStatus) -> None:
    assert source.can_transition(target)
    assert source.transition(target) is target


@pytest.mark.parametrize(
    ("source", "target"),
    [p for p in PAIRS if p[1] not in LEGAL[p[0]]],
    ids=lambda s: s.value,
)
def test_transition_when_illegal_then_raises(source: OrderStatus, target: OrderStatus) -> None:
    assert not source.can_transition(target)
    with pytest.raises(InvalidStateTransition, match=f"from {source.value!r} to {target.value!r}"):
        source.transition(target)


@pytest.mark.parametrize("status", list(S), ids=lambda s: s.value)
def test_status_when_terminal_then_no_exits_and_not_open(status: OrderStatus) -> None:
    terminal = status in (S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED)
    assert status.is_terminal is terminal
    assert status.is_open is not terminal
    if terminal:
        assert not any(status.can_transition(t) for t in S)


def test_invalid_state_transition_when_raised_then_is_contract_error() -> None:
    assert issubclass(InvalidStateTransition, ContractError)


def test_enums_when_serialized_then_stable_lowercase_values() -> None:
    assert OrderSide.BUY == "buy" and OrderType.STOP_LIMIT == "stop_limit"
    assert TimeInForce.FOK == "fok" and S.PARTIALLY_FILLED == "partially_filled"


# ---------------------------------------------------------------- latency

@pytest.mark.parametrize(
    ("name", "submission", "fill_min", "fill_max", "cancel"),
    [
        ("instant", 0, 0, 0, 0),
        ("fast", 10, 50, 100, 20),
        ("normal", 50, 100, 200, 50),
        ("slow", 100, 500, 1000, 100),
    ],
    ids=["instant", "fast", "normal", "slow"],
)
def test_latency_profile_when_named_then_documented_values(
    name: str, submission: int, fill_min: int, fill_max: int, cancel: int
) -> None:
    profile = latency_profile(name)
    assert profile.name == name
    assert profile.submission_latency == ms(submission)
    assert profile.fill_latency_min == ms(fill_min)
    assert profile.fill_latency_max == ms(fill_max)
    assert profile.cancel_latency == ms(cancel)
    assert profile.is_instant is (name == "instant")
    assert latency_profile(name.upper()) is profile
    assert resolve_latency(name) is profile


@pytest.mark.parametrize("name", ["turbo", "", None, 3], ids=["unknown", "empty", "none", "int"])
def test_latency_profile_when_unknown_then_config_error(name: object) -> None:
    with pytest.raises(ConfigError, match="unknown latency profile"):
        latency_profile(name)  # type: ignore[arg-type]


def test_resolve_latency_when_none_or_config_then_passthrough() -> None:
    custom = LatencyConfig(submission_latency=ms(5))
    assert resolve_latency(None) is LATENCY_PROFILES["instant"]
    assert resolve_latency(custom) is custom
    with pytest.raises(ConfigError):
        resolve_latency(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"fill_latency_min": ms(200), "fill_latency_max": ms(100)},
        {"submission_latency": ms(-1)},
        {"cancel_latency": timedelta(seconds=-1)},
        {"fill_latency_max": 0.1},
        {"submission_latency": 10},
    ],
    ids=["min-above-max", "negative-submission", "negative-cancel", "float-leg", "int-leg"],
)
def test_latency_config_when_malformed_then_contract_error(fields: dict[str, object]) -> None:
    with pytest.raises(ContractError):
        LatencyConfig(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- round trips

_prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
_quantities = st.decimals(min_value=Decimal("1"), max_value=Decimal("10000"), places=0)
_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))


@st.composite
def _orders(draw: st.DrawFn) -> Order:
    quantity = draw(_quantities)
    return Order(
        order_id=draw(st.text(min_size=1, max_size=8)),
        symbol=draw(st.sampled_from(["SPY", "QQQ", "ES"])),
        side=draw(st.sampled_from(list(OrderSide))),
        order_type=draw(st.sampled_from(list(OrderType))),
        quantity=quantity,
        limit_price=draw(st.none() | _prices),
        stop_price=draw(st.none() | _prices),
        time_in_force=draw(st.sampled_from(list(TimeInForce))),
        expire_at=draw(st.none() | _times),
        status=draw(st.sampled_from(list(S))),
        filled_quantity=draw(st.decimals(min_value=Decimal(0), max_value=quantity, places=0)),
        created_at=draw(st.none() | _times),
        oco_group=draw(st.none() | st.text(max_size=4)),
    )


@settings(max_examples=60, deadline=None)
@given(_orders())
def test_order_when_replaced_without_changes_then_equal(value: Order) -> None:
    copy = dataclasses.replace(value)
    assert copy == value and hash(copy) == hash(value)
    assert dataclasses.replace(value, **dataclasses.asdict(value)) == value


@settings(max_examples=60, deadline=None)
@given(_prices, _prices, _prices, _prices, _times, st.none() | _quantities)
def test_bar_when_valid_then_replace_round_trips(
    a: Decimal, b: Decimal, c: Decimal, e: Decimal, ts: datetime, volume: Decimal | None
) -> None:
    low, o, cl, high = sorted((a, b, c, e))
    made = Bar(open=o, high=high, low=low, close=cl, timestamp=ts, volume=volume)
    assert dataclasses.replace(made) == made
    fields = {f.name: getattr(made, f.name) for f in dataclasses.fields(made)}
    assert Bar(**fields) == made


@settings(max_examples=60, deadline=None)
@given(_quantities, _prices, _prices, _times)
def test_execution_when_replaced_then_equal(quantity: Decimal, price: Decimal, fee: Decimal, ts: datetime) -> None:
    made = OrderExecution(execution_id="x-1", quantity=quantity, price=price, commission=fee,
                          slippage=Decimal(0), timestamp=ts, reported_at=ts)
    assert dataclasses.replace(made) == made
    assert dataclasses.replace(made, commission=fee + 1) != made


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=4, max_size=4))
def test_latency_config_when_replaced_then_equal(values: list[int]) -> None:
    submission, a, b, cancel = values
    made = LatencyConfig(submission_latency=ms(submission), fill_latency_min=ms(min(a, b)),
                         fill_latency_max=ms(max(a, b)), cancel_latency=ms(cancel))
    assert dataclasses.replace(made) == made
    assert made.is_instant is (submission == 0 and max(a, b) == 0 and cancel == 0)


# --------------------------------------------------------------- evolve_order (hot-path copy)
def test_evolve_order_copies_every_field_and_changes_only_the_given_ones() -> None:
    from dataclasses import fields

    from finbot_bt.contracts.orders import evolve_order

    original = Order(order_id="o-1", symbol="AAA", side=OrderSide.SELL, order_type=OrderType.STOP_LIMIT,
                     quantity=Decimal(5), limit_price=Decimal("9.5"), stop_price=Decimal(10),
                     time_in_force=TimeInForce.GTD, expire_at=datetime(2024, 1, 2), oco_group="g",
                     parent_id="p", created_at=datetime(2024, 1, 1))
    moved = evolve_order(original, status=OrderStatus.SUBMITTED, submitted_at=datetime(2024, 1, 1, 1))
    assert moved == dataclasses.replace(original, status=OrderStatus.SUBMITTED, submitted_at=datetime(2024, 1, 1, 1))
    for f in fields(Order):
        if f.name not in ("status", "submitted_at"):
            assert getattr(moved, f.name) is getattr(original, f.name), f.name
    assert original.status is OrderStatus.NEW  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        moved.status = OrderStatus.FILLED  # type: ignore[misc]


def test_evolve_order_refuses_an_overfill_and_unknown_fields() -> None:
    from finbot_bt.contracts.orders import evolve_order

    order = Order(order_id="o-1", symbol="AAA", side=OrderSide.BUY, order_type=OrderType.MARKET,
                  quantity=Decimal(5))
    with pytest.raises(ContractError, match="exceeds quantity"):
        evolve_order(order, filled_quantity=Decimal(6))
    with pytest.raises(ContractError, match="finite and >= 0"):
        evolve_order(order, filled_quantity=Decimal(-1))
    with pytest.raises(TypeError):
        evolve_order(order, no_such_field=1)
    assert evolve_order(order, filled_quantity=Decimal(5)).remaining_quantity == 0


def test_trusted_order_when_built_then_equals_the_validated_constructor() -> None:
    from finbot_bt.contracts.orders import trusted_order

    fields_ = dict(order_id="o-9", symbol="ES", side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP,
                   quantity=Decimal(3), trail_percent=Decimal("0.02"), time_in_force=TimeInForce.GTD,
                   expire_at=datetime(2024, 3, 1), oco_group="oco-1", parent_id="o-1")
    assert trusted_order(**fields_) == Order(**fields_)  # type: ignore[arg-type]
    plain = trusted_order(order_id="o-1", symbol="AAA", side=OrderSide.BUY, order_type=OrderType.MARKET,
                          quantity=Decimal(1))
    assert plain == Order(order_id="o-1", symbol="AAA", side=OrderSide.BUY, order_type=OrderType.MARKET,
                          quantity=Decimal(1))
    assert plain.status is OrderStatus.NEW and plain.executions == () and plain.filled_quantity == 0


class _Moment(datetime):
    """A datetime subclass: valid, but not the exact type the fast check accepts."""


_ODD_VALUES: list[tuple[str, object]] = [
    ("order_id", ""), ("order_id", 5), ("symbol", None), ("side", "buy"), ("order_type", "market"),
    ("time_in_force", "gtc"), ("status", "new"), ("quantity", 1), ("quantity", Decimal("NaN")),
    ("quantity", Decimal("-1")), ("quantity", Decimal("Infinity")), ("limit_price", 1.5),
    ("stop_price", "1"), ("trail_amount", 2), ("trail_percent", 0.1), ("avg_fill_price", 3),
    ("filled_quantity", Decimal("-1")), ("filled_quantity", Decimal("11")), ("filled_quantity", Decimal("NaN")),
    ("filled_quantity", 0), ("executions", []), ("expire_at", "2024-01-01"), ("created_at", 0),
    ("submitted_at", _Moment(2024, 1, 2)), ("accepted_at", 1.0), ("filled_at", _Moment(2024, 1, 3)),
    ("cancelled_at", "x"),
]


@pytest.mark.parametrize(("field", "value"), _ODD_VALUES)
def test_order_fast_validity_check_never_passes_what_the_full_checks_refuse(field: str, value: object) -> None:
    from finbot_bt.contracts.orders import _plainly_valid, evolve_order

    base = Order(order_id="a", symbol="SPY", side=OrderSide.BUY, order_type=OrderType.LIMIT,
                 quantity=Decimal(10), limit_price=Decimal(100))
    odd = evolve_order(base)  # a copy, then the odd value set without any check
    object.__setattr__(odd, field, value)
    try:
        odd._check()
        refused = False
    except ContractError:
        refused = True
    assert not (refused and _plainly_valid(odd))
    if not refused:  # valid but unusual (a datetime subclass, an infinite quantity): still constructible
        assert dataclasses.replace(base, **{field: value}) == odd


@given(quantity=st.decimals(allow_nan=True, allow_infinity=True),
       filled=st.decimals(allow_nan=True, allow_infinity=True))
@settings(max_examples=200, deadline=None)
def test_order_fast_validity_check_agrees_with_the_full_checks_on_quantities(quantity: Decimal,
                                                                              filled: Decimal) -> None:
    from finbot_bt.contracts.orders import _plainly_valid, evolve_order

    base = Order(order_id="a", symbol="SPY", side=OrderSide.SELL, order_type=OrderType.MARKET, quantity=Decimal(1))
    odd = evolve_order(base)  # a copy, then the quantities set without any check
    object.__setattr__(odd, "quantity", quantity)
    object.__setattr__(odd, "filled_quantity", filled)
    try:
        odd._check()
        refused = False
    except ContractError:
        refused = True
    assert _plainly_valid(odd) is not refused  # exact types: the fast check decides exactly as the full one
