"""Checkpoints: split-run equivalence, atomic files, retention, migration, strict loading, journal."""

from __future__ import annotations

import json
import os
import random
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from finbot_bt.contracts import Bar, ExecutionEvent, Order, OrderSide, OrderStatus, OrderType
from finbot_bt.contracts.checkpoint import canonical_json
from finbot_bt.contracts.codec import decode_datetime, encode_datetime
from finbot_bt.errors import CheckpointError
from finbot_bt.execution import ExecutionSimulator, SlippageModel
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.journal import FlushPolicy, JournalConfig, JournalWarning, read_events, read_journal
from finbot_bt.execution.model_registry import register_model
from finbot_bt.execution.recovery import recover
from finbot_bt.execution.snapshot import restore_simulator_state, snapshot_simulator
from tests.ckpt_scenario import make_bars, make_simulator, run_step

STEPS = 50


def _state(sim: ExecutionSimulator) -> dict[str, Any]:
    data = snapshot_simulator(sim)
    data.pop("journal")
    return data


def _run(sim: ExecutionSimulator, bars: list[Any], start: int, stop: int) -> list[str]:
    seen: list[str] = []
    listener = lambda event: seen.append(repr(event))  # noqa: E731
    sim.add_listener(listener)
    for index in range(start, stop):
        run_step(sim, index, bars[index])
    sim.remove_listener(listener)
    return seen


# ---------------------------------------------------------------------- split-run equivalence
@pytest.mark.parametrize(("retain_history", "bar_seed"), [(True, 3), (False, 5), (True, 8)],
                         ids=["history-seed3", "no-history-seed5", "history-seed8"])
def test_restore_when_split_at_every_step_then_events_and_state_match_uninterrupted_run(
    tmp_path: Path, retain_history: bool, bar_seed: int
) -> None:
    bars = make_bars(STEPS, seed=bar_seed)
    manager = CheckpointManager(tmp_path)
    reference = make_simulator(retain_history=retain_history)
    events: list[str] = []
    reference.add_listener(lambda event: events.append(repr(event)))
    splits: list[tuple[int, int, Path]] = []
    in_flight = 0
    for index in range(STEPS + 1):
        splits.append((index, len(events), manager.checkpoint(reference, metadata={"step": index})))
        in_flight += len(reference.queue) > 0
        if index < STEPS:
            run_step(reference, index, bars[index])
    final = _state(reference)
    assert in_flight > STEPS // 4, "the scenario should leave actions in flight at many splits"
    assert any("OrderFilled" in e and "partially_filled" in e for e in events)
    for index, seen_before, path in splits:
        checkpoint = manager.verify(path)
        assert checkpoint.metadata == {"step": index}
        restored = manager.restore_simulator(checkpoint)
        after = _run(restored, bars, index, STEPS)
        assert after == events[seen_before:], f"split at step {index}"
        assert _state(restored) == final, f"split at step {index}"


def test_restore_when_done_twice_then_simulators_share_nothing(tmp_path: Path) -> None:
    bars = make_bars(20)
    sim = make_simulator()
    _run(sim, bars, 0, 10)
    checkpoint = CheckpointManager(tmp_path).create_checkpoint(sim)
    first, second = restore_simulator_state(checkpoint), restore_simulator_state(checkpoint)
    before = _state(second)
    _run(first, bars, 10, 20)
    _run(sim, bars, 10, 20)
    assert _state(second) == before
    assert _state(first) == _state(sim)


def test_checkpoint_when_history_not_retained_then_holds_open_orders_only(tmp_path: Path) -> None:
    bars = make_bars(STEPS)
    sim = make_simulator(retain_history=False)
    _run(sim, bars, 0, STEPS)
    checkpoint = CheckpointManager(tmp_path).create_checkpoint(sim)
    assert {o.order_id for o in checkpoint.orders} == {o.order_id for o in sim.open_orders()}
    assert sim.book.order_counter > 3 * len(checkpoint.orders)


def test_datetime_when_zoned_then_round_trips_with_its_zone() -> None:
    ts = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York"))
    back = decode_datetime("t", encode_datetime(ts))
    assert repr(back) == repr(ts) and back.utcoffset() == ts.utcoffset()


# ---------------------------------------------------------------------- files
def _saved(tmp_path: Path, steps: int = 10, **kwargs: Any) -> tuple[CheckpointManager, ExecutionSimulator, Path]:
    manager = CheckpointManager(tmp_path, **kwargs)
    sim = make_simulator()
    _run(sim, make_bars(steps), 0, steps)
    return manager, sim, manager.checkpoint(sim)


def test_save_when_replace_fails_then_previous_checkpoint_intact_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager, sim, first = _saved(tmp_path)
    folder = first.parent
    before = sorted(p.name for p in folder.iterdir())
    sim.advance_time(sim.clock + timedelta(seconds=5))  # type: ignore[operator]

    def crash(*args: Any) -> None:
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(CheckpointError, match="simulated crash"):
        manager.checkpoint(sim)
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == before
    assert manager.latest_path(sim.simulator_id) == first
    assert manager.load_checkpoint(sim.simulator_id) == manager.verify(first)


def test_save_when_keep_last_then_older_files_pruned_and_latest_points_to_newest(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, keep_last=2)
    sim = make_simulator()
    bars = make_bars(6)
    paths, clocks = [], []
    for index in range(6):
        run_step(sim, index, bars[index])
        paths.append(manager.checkpoint(sim))
        assert sim.clock is not None
        clocks.append(sim.clock)
    assert [i.path for i in manager.list_checkpoints(sim.simulator_id)] == paths[-2:]
    assert manager.latest_path(sim.simulator_id) == paths[-1]
    older = manager.load_checkpoint(sim.simulator_id, paths[-2].stem)
    assert older.timestamp == encode_datetime(clocks[4])
    assert manager.load_checkpoint(sim.simulator_id, clocks[4]) == older
    assert manager.load_checkpoint(sim.simulator_id).timestamp == encode_datetime(clocks[5])


def test_file_name_when_saved_then_uses_simulated_clock(tmp_path: Path) -> None:
    _, sim, path = _saved(tmp_path, steps=3)
    assert sim.clock is not None
    assert path.name.startswith(sim.clock.strftime("%Y%m%dT%H%M%S.%f"))


# ---------------------------------------------------------------------- migration
def _legacy_order(order_id: str, status: str, filled: str = "0", executions: list[Any] | None = None) -> Any:
    return {
        "order_id": order_id, "symbol": "SPY", "side": "buy", "order_type": "limit", "quantity": "10",
        "created_at": "2024-01-02T10:00:00", "status": status, "limit_price": "450.00",
        "submitted_at": "2024-01-02T10:00:00", "filled_quantity": filled,
        "avg_fill_price": "449.5" if filled != "0" else "0", "total_commission": "0",
        "executions": executions or [], "rejected_at": None, "rejection_reason": None,
        "rejection_message": None, "cancelled_at": None,
    }


def _legacy_file(tmp_path: Path, **changes: Any) -> Path:
    execution = {"execution_id": "e1", "order_id": "old-2", "timestamp": "2024-01-02T10:05:00",
                 "quantity": "4", "price": "449.5", "commission": "0.04", "is_partial": True}
    data = {
        "version": "1.0.0", "simulator_id": "legacy", "checkpoint_timestamp": "2024-01-02T11:00:00",
        "cash": "95502.04", "initial_cash": "100000", "positions": {"SPY": "10"},
        "pending_orders": [_legacy_order("old-3", "submitted"), _legacy_order("old-2", "partially_filled", "4",
                                                                               [execution])],
        "completed_orders": [_legacy_order("old-1", "filled", "10")],
        "peak_value": None, "daily_start_value": None, "trading_enabled": True,
        "slippage_bps": "5", "commission_per_share": "0.01", "latency_config_name": "FAST",
        "risk_config_data": {"trading_enabled": True},
    }
    data.update(changes)
    folder = tmp_path / "legacy"
    folder.mkdir(exist_ok=True)
    path = folder / "20240102T110000.000000-000000000000.json"
    path.write_text(json.dumps(data))
    (folder / "LATEST").write_text(path.name)
    return path


def test_load_when_file_is_finbot_1_0_0_then_migrates_and_orders_keep_working(tmp_path: Path) -> None:
    _legacy_file(tmp_path)
    manager = CheckpointManager(tmp_path)
    checkpoint = manager.load_checkpoint("legacy")
    assert checkpoint.metadata == {"migrated_from": "finbot 1.0.0"}
    sim = manager.restore_simulator(checkpoint)
    assert sim.cash == Decimal("95502.04")
    assert sim.get_position("SPY").quantity == Decimal("10")
    assert sim.latency.submission_latency == timedelta(milliseconds=10)
    assert type(sim.slippage).__name__ == "BasisPointsSlippage"
    assert [o.status for o in sim.open_orders()] == [OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED]
    assert sim.get_order("old-1") is not None and sim.get_order("old-1").status is OrderStatus.FILLED  # type: ignore[union-attr]
    t = datetime(2024, 1, 2, 11, 1)
    sim.process_market_data(t, {"SPY": Bar(open=Decimal("451"), high=Decimal("452"), low=Decimal("449"),
                                           close=Decimal("450"), timestamp=t)})
    sim.advance_time(t + timedelta(seconds=1))  # FAST latency: fill reports arrive 50-100 ms later
    assert sim.get_position("SPY").quantity == Decimal("26")
    assert sim.open_orders() == []


@pytest.mark.parametrize("changes", [{"risk_config_data": {"trading_enabled": True, "position_limit": {}}},
                                     {"latency_config_name": "WARP"}, {"cash": "oops"},
                                     {"pending_orders": [{"order_id": "x"}]}],
                         ids=["risk-rules", "unknown-latency", "bad-cash", "bad-order"])
def test_load_when_legacy_file_cannot_migrate_then_checkpoint_error(tmp_path: Path, changes: Any) -> None:
    path = _legacy_file(tmp_path, **changes)
    with pytest.raises(CheckpointError, match=str(path.name)):
        CheckpointManager(tmp_path).load_checkpoint("legacy")


# ---------------------------------------------------------------------- strict loading
def _rehash(envelope: dict[str, Any]) -> bytes:
    import hashlib

    envelope["sha256"] = hashlib.sha256(canonical_json(envelope["body"])).hexdigest()
    return json.dumps(envelope).encode()


def test_load_when_file_is_version_3_then_migrates_with_no_bars_before(tmp_path: Path) -> None:
    manager, sim, path = _saved(tmp_path)
    envelope = json.loads(path.read_bytes())
    assert envelope["version"] == 4 and envelope["body"]["bars_before"]  # the run had bars
    envelope["version"] = envelope["body"]["version"] = 3
    del envelope["body"]["bars_before"]
    path.write_bytes(_rehash(envelope))
    restored = manager.restore_simulator(manager.verify(path))
    assert restored.market.bar_before == {}
    assert restored.market.last_bar == sim.market.last_bar and restored.cash == sim.cash


def _expect_error(manager: CheckpointManager, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as info:
        manager.verify(path)
    assert str(path) in str(info.value)


def test_load_when_file_truncated_anywhere_then_checkpoint_error(tmp_path: Path) -> None:
    manager, _, path = _saved(tmp_path)
    good = path.read_bytes()
    bad = path.with_name("20000101T000000.000000-000000000000.json")
    for cut in sorted({*range(0, 200), *range(0, len(good) - 1, max(1, len(good) // 300)), len(good) - 2}):
        _expect_error(manager, bad, good[:cut])


def test_load_when_bytes_flipped_then_checkpoint_error_or_identical(tmp_path: Path) -> None:
    manager, _, path = _saved(tmp_path)
    good = path.read_bytes()
    original = manager.verify(path)
    bad = path.with_name("20000101T000000.000000-000000000000.json")
    rng = random.Random(5)
    for _ in range(400):
        data = bytearray(good)
        position = rng.randrange(len(data))
        data[position] ^= rng.randint(1, 255)
        bad.write_bytes(bytes(data))
        try:
            loaded = manager.verify(bad)
        except CheckpointError as exc:
            assert str(bad) in str(exc)
        else:
            assert loaded == original


def _mutations(body: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key in body:
        out.append((f"missing {key}", ("del", key)))
        out.append((f"wrong type {key}", ("set", key, 12345)))
    return out


@pytest.mark.parametrize("path_in_body,value", [
    (("account", "cash"), "1e999999"),
    (("account", "cash"), "NaN"),
    (("account", "cash"), 1.5),
    (("account", "cash"), "1" * 200),
    (("config", "seed"), "7"),
    (("config", "seed"), True),
    (("config", "latency", "fill_latency_max"), "1e9"),
    (("config", "latency", "fill_latency_max"), "0.0000001"),
    (("config", "slippage"), {"type": "os.system", "fields": {}}),
    (("config", "slippage"), {"type": "PercentSlippage", "fields": {"rate": "2"}}),
    (("config", "slippage"), {"type": "PercentSlippage", "fields": {"rat": "0.1"}}),
    (("counters", "events"), 10**30),
    (("counters", "events"), -1),
    (("rng", "internal_state"), [1, 2, 3]),
    (("rng", "gauss_next"), "x"),
    (("simulator_id",), "../escape"),
    (("timestamp",), "2024-13-45T00:00:00"),
    (("queue", "next_sequence"), 0),
    (("version",), 1),
    (("extra_field",), 1),
], ids=lambda v: str(v)[:30])
def test_load_when_body_tampered_with_valid_hash_then_checkpoint_error(
    tmp_path: Path, path_in_body: tuple[str, ...], value: Any
) -> None:
    manager, _, path = _saved(tmp_path)
    envelope = json.loads(path.read_bytes())
    target = envelope["body"]
    for key in path_in_body[:-1]:
        target = target[key]
    target[path_in_body[-1]] = value
    _expect_error(manager, path, _rehash(envelope))


def test_load_when_fields_missing_or_mistyped_then_checkpoint_error(tmp_path: Path) -> None:
    manager, _, path = _saved(tmp_path)
    good = json.loads(path.read_bytes())
    for _, action in _mutations(good["body"]):
        envelope = json.loads(json.dumps(good))
        if action[0] == "del":
            del envelope["body"][action[1]]
        else:
            envelope["body"][action[1]] = action[2]
        _expect_error(manager, path, _rehash(envelope))
    for key in good:
        envelope = json.loads(json.dumps(good))
        del envelope[key]
        _expect_error(manager, path, json.dumps(envelope).encode())


@pytest.mark.parametrize("data", [
    b"", b"null", b"[]", b"{}", b"\xff\xfe", b'{"a": 1e999999}', b'{"a": NaN}', b"[" * 100000,
    b'{"a": ' + b"9" * 5000 + b"}", b'{"format": 1, "format": 2}',
    b'{"format": "finbot_bt.checkpoint", "version": 99, "sha256": "", "body": {}}',
    b'{"format": "finbot_bt.checkpoint", "version": 2, "sha256": "00", "body": {"version": 2}}',
    b'{"format": "finbot_bt.checkpoint", "version": 0, "sha256": "", "body": {}}',
    b'\x80\x04\x95pickle',
], ids=lambda v: repr(v[:24]))
def test_load_when_file_is_hand_made_garbage_then_checkpoint_error(tmp_path: Path, data: bytes) -> None:
    manager = CheckpointManager(tmp_path)
    (tmp_path / "x").mkdir()
    _expect_error(manager, tmp_path / "x" / "20000101T000000.000000-000000000000.json", data)


@pytest.mark.parametrize("simulator_id", ["..", ".", "../x", "a/b", "a\\b", "/etc", ".hidden", "", "x\x00y",
                                          "c:evil"])
def test_manager_when_simulator_id_is_not_a_plain_name_then_checkpoint_error(
    tmp_path: Path, simulator_id: str
) -> None:
    manager = CheckpointManager(tmp_path / "base")
    with pytest.raises(CheckpointError):
        manager.load_checkpoint(simulator_id)
    with pytest.raises(CheckpointError):
        manager.list_checkpoints(simulator_id)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]


def test_verify_when_path_outside_base_then_checkpoint_error(tmp_path: Path) -> None:
    manager, _, path = _saved(tmp_path / "base")
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes(path.read_bytes())
    with pytest.raises(CheckpointError, match="outside"):
        manager.verify(outside)
    with pytest.raises(CheckpointError, match="outside"):
        manager.verify(path.parent / ".." / ".." / "elsewhere.json")


def test_load_when_latest_pointer_tampered_then_checkpoint_error(tmp_path: Path) -> None:
    manager, sim, path = _saved(tmp_path)
    (path.parent / "LATEST").write_text("../../etc/passwd")
    with pytest.raises(CheckpointError, match="does not name a checkpoint"):
        manager.load_checkpoint(sim.simulator_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class _HouseSlippage(SlippageModel):
    ticks: Decimal = Decimal("0.01")

    def slip(self, side: OrderSide, price: Decimal, quantity: Decimal, bar: Bar) -> Decimal:
        return price + self.ticks if side is OrderSide.BUY else price - self.ticks


def test_checkpoint_when_model_is_unregistered_user_class_then_error_at_save_and_ok_once_registered(
    tmp_path: Path,
) -> None:
    manager = CheckpointManager(tmp_path)
    sim = ExecutionSimulator(Decimal("1000"), slippage=_HouseSlippage())
    with pytest.raises(CheckpointError, match="register_model"):
        manager.create_checkpoint(sim)
    register_model(_HouseSlippage)
    restored = manager.restore_simulator(manager.load_checkpoint("sim", manager.checkpoint(sim).stem))
    assert restored.slippage == _HouseSlippage()


# ---------------------------------------------------------------------- journal and recovery
def test_journal_when_torn_last_line_then_ignored_with_warning(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    sim = make_simulator(retain_history=False)
    manager.open_journal(sim)
    events = _run(sim, make_bars(10), 0, 10)
    manager.close()
    journal = manager.journal_path(sim.simulator_id)
    with journal.open("ab") as fh:
        fh.write(b'{"type":"OrderFilled","seq')
    with pytest.warns(JournalWarning, match="torn"):
        frame = read_journal(journal)
    assert len(frame) == len(events)
    assert frame.attrs["torn"] is not None
    assert list(frame["sequence"]) == list(range(1, len(events) + 1))
    fills = frame[frame["event"] == "OrderFilled"]
    assert all(isinstance(v, Decimal) for v in fills["fill_price"])


def test_journal_when_flush_on_checkpoint_then_written_only_at_checkpoint(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    sim = make_simulator()
    writer = manager.open_journal(sim, JournalConfig(flush=FlushPolicy.ON_CHECKPOINT))
    _run(sim, make_bars(8), 0, 8)
    journal = manager.journal_path(sim.simulator_id)
    assert not journal.exists() or journal.stat().st_size == 0
    checkpoint = manager.create_checkpoint(sim)
    assert checkpoint.journal is not None
    assert checkpoint.journal.sequence == sim.events.sequence == writer.position.sequence
    assert checkpoint.journal.offset == journal.stat().st_size


def test_recover_when_inputs_refed_then_journal_verified_and_complete(tmp_path: Path) -> None:
    bars = make_bars(40)
    reference = make_simulator(retain_history=False)
    expected = [e for e in _collect(reference, bars, 0, 40)]
    manager = CheckpointManager(tmp_path)
    sim = make_simulator(retain_history=False)
    manager.open_journal(sim)
    _run(sim, bars, 0, 20)
    manager.checkpoint(sim, metadata={"next_step": 20})
    _run(sim, bars, 20, 31)  # then the process "dies" (the journal flushed every event)
    recovery = recover(tmp_path, sim.simulator_id)
    assert recovery.checkpoint.metadata == {"next_step": 20}
    cut = recovery.checkpoint.counters.events
    assert [repr(e) for e in recovery.events] == [repr(e) for e in expected[cut:sim.events.sequence]]
    second = CheckpointManager(tmp_path)
    second.open_journal(recovery.simulator, expect=recovery.tail)
    _run(recovery.simulator, bars, 20, 40)
    second.close()
    assert [repr(e) for e in read_events(second.journal_path(sim.simulator_id)).events] == [
        repr(e) for e in expected
    ]
    assert _state(recovery.simulator) == _state(reference)


def test_recover_when_refed_inputs_differ_then_checkpoint_error(tmp_path: Path) -> None:
    bars = make_bars(30)
    manager = CheckpointManager(tmp_path)
    sim = make_simulator()
    manager.open_journal(sim)
    _run(sim, bars, 0, 10)
    manager.checkpoint(sim)
    _run(sim, bars, 10, 20)
    recovery = recover(tmp_path, sim.simulator_id)
    CheckpointManager(tmp_path).open_journal(recovery.simulator, expect=recovery.tail)
    with pytest.raises(CheckpointError, match=r"differs|not expected"):
        for index in range(10, 20):
            t, bar_map = bars[index]
            recovery.simulator.process_market_data(t, bar_map)
            recovery.simulator.submit_order(Order(order_id=f"other-{index}", symbol="AAA", side=OrderSide.BUY,
                                                  order_type=OrderType.MARKET, quantity=Decimal(1)), t)


def test_open_journal_when_simulator_behind_journal_without_recovery_then_checkpoint_error(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    sim = make_simulator()
    manager.open_journal(sim)
    _run(sim, make_bars(5), 0, 5)
    manager.close()
    with pytest.raises(CheckpointError, match="recover"):
        CheckpointManager(tmp_path).open_journal(make_simulator())


def _collect(sim: ExecutionSimulator, bars: list[Any], start: int, stop: int) -> list[ExecutionEvent]:
    seen: list[ExecutionEvent] = []
    sim.add_listener(seen.append)
    for index in range(start, stop):
        run_step(sim, index, bars[index])
    sim.remove_listener(seen.append)
    return seen


def test_checkpoint_when_clock_is_aware_then_file_named_in_utc(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    sim = ExecutionSimulator(Decimal("1000"))
    sim.advance_time(datetime(2024, 6, 3, 9, 30, tzinfo=ZoneInfo("America/New_York")))
    path = manager.checkpoint(sim)
    assert path.name.startswith("20240603T133000.000000-")
    restored = manager.restore_simulator(manager.load_checkpoint("sim"))
    assert restored.clock == datetime(2024, 6, 3, 13, 30, tzinfo=UTC)
    assert repr(restored.clock) == repr(sim.clock)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert manager.load_checkpoint("sim", datetime(2024, 6, 3, 13, 30, tzinfo=UTC)).timestamp is not None
