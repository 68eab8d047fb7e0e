"""Session safety: one writer per simulator_id, a full disk, tampered files, hostile paths."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from finbot_bt import FinbotBroker
from finbot_bt.contracts.checkpoint import canonical_json
from finbot_bt.errors import CheckpointError
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.journal import JournalConfig, JournalPosition, Retention, read_tail
from finbot_bt.execution.recovery import recover
from tests.bt_harness import make_ohlcv, same
from tests.ckpt_scenario import make_bars, make_simulator, run_step
from tests.test_broker_resume import BarRule, _book, _session

FRAME = make_ohlcv(40, seed=23)


def _run(folder: Path, frame: Any = FRAME, **kwargs: Any) -> tuple[list[Any], FinbotBroker]:
    return _session(frame, checkpoint_dir=folder, simulator_id="s", **kwargs)


# ---------------------------------------------------------------------- one writer
def test_lock_when_second_process_resumes_same_session_then_clear_error_and_journal_valid(tmp_path: Path) -> None:
    _run(tmp_path, FRAME.iloc[:10], resume=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         f"sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
         "from finbot_bt.execution.checkpoint import CheckpointManager\n"
         f"m = CheckpointManager({str(tmp_path)!r}); m.acquire('s')\n"
         "print('locked', flush=True); time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(CheckpointError, match=rf"in use by another process \(pid {holder.pid} "):
            _run(tmp_path, FRAME.iloc[10:], resume=True)
    finally:
        holder.kill()
        holder.wait()
    whole, reference = _session(FRAME, simulator_id="s")
    first, _ = _session(FRAME.iloc[:10], simulator_id="s")
    second, resumed = _run(tmp_path, FRAME.iloc[10:], resume=True)  # the dead holder left no stale lock
    assert same(first + second, whole)
    assert same(_book(resumed), _book(reference))
    manager = CheckpointManager(tmp_path)
    tail = read_tail(tmp_path / "s", JournalPosition(0, 0))
    assert [e.sequence for e in tail.events] == list(range(1, len(tail.events) + 1))
    assert manager.verify(manager.latest_path("s"))


def test_lock_when_two_processes_race_then_one_wins_and_the_other_gets_checkpoint_error(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from tests.test_session_safety import _race_child\n"
        "sys.exit(_race_child(sys.argv[1]))\n"
    )
    children = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(c.wait(), c.communicate()) for c in children]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 6], results
    loser = next(out for code, out in results if code == 6)
    assert "in use by another process (pid" in loser[0]
    whole, _ = _session(FRAME, simulator_id="s")
    tail = read_tail(tmp_path / "s", JournalPosition(0, 0))
    assert [e.sequence for e in tail.events] == list(range(1, len(tail.events) + 1))
    assert len(tail.events) == len(_session(FRAME, simulator_id="s")[1].events)
    assert whole


def _race_child(folder: str) -> int:
    # Both children start their run together (a file barrier), so their sessions overlap.
    Path(folder, f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while len(list(Path(folder).glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)

    class Slow(BarRule):
        def next(self) -> None:
            super().next()
            time.sleep(0.01)  # hold the session long enough for the other process to try

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=FRAME, name="A"))
    cerebro.setbroker(FinbotBroker(checkpoint_dir=folder, simulator_id="s", resume=True))
    cerebro.addstrategy(Slow)
    cerebro.broker.setcommission(commission=0.001)
    try:
        cerebro.run()
    except CheckpointError as exc:
        print(exc)
        return 6
    return 0


# ---------------------------------------------------------------------- full disk
def test_journal_when_disk_full_then_checkpoint_error_and_resume_after_space_freed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, reference = _session(FRAME, simulator_id="s")
    real_write = os.write
    state = {"writes": 0}

    def full(fd: int, data: Any) -> int:
        state["writes"] += 1
        if state["writes"] > 40:
            real_write(fd, bytes(data)[:7])  # part of a line, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(CheckpointError, match="No space left"):
        _run(tmp_path, resume=True, checkpoint_every=5)
    monkeypatch.setattr(os, "write", real_write)  # space freed
    journal = (tmp_path / "s" / "journal.jsonl").read_bytes()
    assert journal.endswith(b"\n")  # the half-written line was cut back
    recovery = recover(tmp_path, "s")
    assert recovery.torn is None and recovery.events  # events after the checkpoint are kept
    point = max(json.loads(json.dumps(recovery.checkpoint.metadata))["broker"]["last_bar_times"].values())
    done = [e for e in whole if e[0] <= point]
    second, resumed = _run(tmp_path, resume=True, checkpoint_every=5)
    assert same(done + second, whole)
    assert same(_book(resumed), _book(reference))


def test_checkpoint_when_folder_read_only_then_checkpoint_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        folder = tmp_path / "file"
        folder.write_text("not a folder")  # root ignores permissions; a file in the way fails the same way
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
    with pytest.raises(CheckpointError):
        _run(folder / "sub" if os.geteuid() == 0 else folder, FRAME.iloc[:5])


# ---------------------------------------------------------------------- tampering
def _checkpoint(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    split = next(k for k in range(8, 30) if _open_orders_at_end(FRAME.iloc[:k]))
    _run(tmp_path, FRAME.iloc[:split], resume=True)
    path = CheckpointManager(tmp_path).latest_path("s")
    return path, json.loads(path.read_text())


def _open_orders_at_end(frame: Any) -> bool:
    _, broker = _session(frame, simulator_id="probe", latency="normal")
    return bool(broker.sim.open_orders())


def _rewrite(path: Path, envelope: dict[str, Any]) -> None:
    envelope["sha256"] = hashlib.sha256(canonical_json(envelope["body"])).hexdigest()
    path.write_text(json.dumps(envelope))


def _broker_state(body: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = body["metadata"]["broker"]
    return state


TAMPERING = {
    "broker metadata missing": lambda b: b["metadata"].pop("broker"),
    "broker orders missing": lambda b: _broker_state(b).pop("orders"),
    "broker cash mistyped": lambda b: _broker_state(b).update(startingcash="lots"),
    "broker last bar time mistyped": lambda b: _broker_state(b).update(last_bar_times={"A": 5}),
    "broker order size zero": lambda b: _broker_state(b)["orders"][0].update(size=0.0),
    "broker open names unknown order": lambda b: _broker_state(b)["open"].append("nope"),
    "broker duplicated order": lambda b: _broker_state(b)["orders"].append(_broker_state(b)["orders"][0]),
    "order quantity NaN": lambda b: _open_order(b).update(quantity="NaN"),
    "order quantity Infinity": lambda b: _open_order(b).update(quantity="Infinity"),
    "order quantity negative": lambda b: _open_order(b).update(quantity="-5"),
    "order quantity zero": lambda b: _open_order(b).update(quantity="0"),
    "limit price negative": lambda b: _open_order(b).update(limit_price="-1"),
    "duplicated order record": lambda b: b["orders"].append(dict(b["orders"][0])),
    "cash out of range": lambda b: b["account"].update(cash="1e40"),
}


def _open_order(body: dict[str, Any]) -> dict[str, Any]:
    order: dict[str, Any] = next(o for o in body["orders"] if o["status"] in ("accepted", "submitted", "new",
                                                                              "partially_filled"))
    return order


@pytest.mark.parametrize("change", list(TAMPERING.values()), ids=list(TAMPERING))
def test_resume_when_checkpoint_tampered_with_recomputed_hash_then_checkpoint_error(
    tmp_path: Path, change: Any
) -> None:
    path, envelope = _checkpoint(tmp_path)
    change(envelope["body"])
    _rewrite(path, envelope)
    with pytest.raises(CheckpointError):
        _run(tmp_path, FRAME.iloc[20:], resume=True)
    from finbot_bt.runner.checkpoints import verify_folder

    assert any(problem is not None for _, problem in verify_folder(tmp_path))


@pytest.mark.parametrize("edit", ["garble a middle line", "edit a fill price", "drop a middle line",
                                  "strip a checksum"])
def test_resume_when_journal_line_tampered_then_checkpoint_error(tmp_path: Path, edit: str) -> None:
    _run(tmp_path, FRAME.iloc[:12], resume=True, checkpoint_every=2, keep_last=None)
    folder = tmp_path / "s"
    first = sorted(folder.glob("*.json"))[0]  # an early checkpoint: most of the journal is its tail
    (folder / "LATEST").write_text(first.name + "\n")
    for later in sorted(folder.glob("*.json"))[1:]:
        later.unlink()
    journal = folder / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    if edit == "garble a middle line":
        lines[middle] = lines[middle][:20] + b"#" + lines[middle][21:]
    elif edit == "edit a fill price":
        index = max(i for i, line in enumerate(lines) if b'"OrderFilled"' in line)
        record = lines[index]
        start = record.index(b'"price":"') + 9
        lines[index] = record[:start] + b"9" + record[start + 1:]
    elif edit == "drop a middle line":
        del lines[middle]
    else:
        lines[middle] = lines[middle][: lines[middle].rindex(b',"sum"')] + b"}\n"
    journal.write_bytes(b"".join(lines))
    with pytest.raises(CheckpointError, match=r"checksum|sequence jumps|damaged"):
        _run(tmp_path, FRAME.iloc[1:], resume=True)


def test_seal_when_key_set_then_edit_with_recomputed_hash_refused_and_same_key_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINBOT_BT_CHECKPOINT_KEY", "s3cret")
    path, envelope = _checkpoint(tmp_path)
    assert "hmac_sha256" in envelope
    assert all(b'"sum":"h' in line for line in (tmp_path / "s" / "journal.jsonl").read_bytes().splitlines())
    original = path.read_bytes()
    envelope["body"]["account"]["cash"] = "999999"
    _rewrite(path, envelope)
    with pytest.raises(CheckpointError, match="seal mismatch"):
        _run(tmp_path, FRAME.iloc[20:], resume=True)
    path.write_bytes(original)
    monkeypatch.delenv("FINBOT_BT_CHECKPOINT_KEY")
    with pytest.raises(CheckpointError, match="sealed with a key"):
        _run(tmp_path, FRAME.iloc[20:], resume=True)
    _run(tmp_path, FRAME.iloc[20:], resume=True, checkpoint_key=b"s3cret")


# ---------------------------------------------------------------------- paths and leftovers
@pytest.mark.parametrize("name", ["journal.jsonl", "LATEST"])
def test_resume_when_file_is_symlink_then_refused_and_target_untouched(tmp_path: Path, name: str) -> None:
    _run(tmp_path / "ck", FRAME.iloc[:10], resume=True)
    target = tmp_path / "outside.txt"
    target.write_bytes((tmp_path / "ck" / "s" / name).read_bytes())
    before = target.read_bytes()
    (tmp_path / "ck" / "s" / name).unlink()
    (tmp_path / "ck" / "s" / name).symlink_to(target)
    with pytest.raises(CheckpointError, match="symlink"):
        _run(tmp_path / "ck", FRAME.iloc[10:], resume=True)
    assert target.read_bytes() == before


def test_resume_when_checkpoint_file_is_symlink_then_refused(tmp_path: Path) -> None:
    _run(tmp_path, FRAME.iloc[:10], resume=True)
    path = CheckpointManager(tmp_path).latest_path("s")
    moved = tmp_path / "elsewhere.json"
    path.rename(moved)
    path.symlink_to(moved)
    with pytest.raises(CheckpointError, match="symlink"):
        _run(tmp_path, FRAME.iloc[10:], resume=True)


def test_manager_when_simulator_id_too_long_in_bytes_then_checkpoint_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="bytes"):
        CheckpointManager(tmp_path).simulator_dir("株" * 50)
    assert CheckpointManager(tmp_path).simulator_dir("株" * 40).name == "株" * 40


def test_resume_when_crash_left_temp_files_and_no_latest_then_cleaned_and_found(tmp_path: Path) -> None:
    _run(tmp_path, FRAME.iloc[:10], resume=True, keep_last=None)
    folder = tmp_path / "s"
    (folder / "LATEST").unlink()  # killed after the rename of the checkpoint, before LATEST
    orphan = folder / ".LATEST.abc123xy.tmp"
    orphan.write_bytes(b"half")
    whole, _ = _session(FRAME, simulator_id="s")
    first = _session(FRAME.iloc[:10], simulator_id="s")[0]
    second, _ = _run(tmp_path, FRAME.iloc[10:], resume=True)
    assert not orphan.exists()
    assert same(first + second, whole)


def test_journal_when_segments_rotate_and_old_ones_archived_then_recovery_still_exact(tmp_path: Path) -> None:
    config = JournalConfig(segment_bytes=4096, retention=Retention.ARCHIVE)
    whole, reference = _session(FRAME, simulator_id="s")
    first, _ = _run(tmp_path, FRAME.iloc[:25], resume=True, journal=config, checkpoint_every=3, keep_last=2)
    folder = tmp_path / "s"
    assert len(list(folder.glob("journal-*.jsonl"))) >= 1
    assert list((folder / "archive").glob("journal*.jsonl"))
    second, resumed = _run(tmp_path, FRAME.iloc[25:], resume=True, journal=config, checkpoint_every=3,
                           keep_last=2)
    assert same(first + second, whole)
    assert same(_book(resumed), _book(reference))


def test_recover_when_journal_segments_span_a_kill_then_tail_read_across_segments(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    sim = make_simulator(retain_history=False)
    manager.open_journal(sim, JournalConfig(segment_bytes=2000))
    bars = make_bars(30)
    for index in range(10):
        run_step(sim, index, bars[index])
    manager.checkpoint(sim, metadata={"next": 10})
    for index in range(10, 30):
        run_step(sim, index, bars[index])
    manager.close()
    recovery = recover(tmp_path, sim.simulator_id)
    assert len(set(recovery.tail.segments)) > 1
    assert recovery.last_sequence == sim.events.sequence


@pytest.mark.parametrize("depth", [50, 400, 800, 1000, 3000, 100_000])
def test_load_when_metadata_nested_deeply_then_loads_or_checkpoint_error(tmp_path: Path, depth: int) -> None:
    manager = CheckpointManager(tmp_path)
    path = manager.checkpoint(make_simulator(), metadata={"x": 1})
    text = path.read_text()
    nested = "[" * depth + "]" * depth
    envelope = json.loads(text)
    start = text.index('"metadata": ') + len('"metadata": ')
    end = text.rindex("}}")
    edited = text[:start] + '{"x": ' + nested + "}" + text[end:]
    try:
        envelope["body"]["metadata"] = {"x": json.loads(nested)}
        envelope["sha256"] = hashlib.sha256(canonical_json(envelope["body"])).hexdigest()
        edited = edited.replace(json.loads(text)["sha256"], envelope["sha256"])
    except RecursionError:
        pass  # too deep for Python's own parser: the file keeps its old hash
    path.write_text(edited)
    try:
        checkpoint = manager.load_checkpoint("crashy")
    except CheckpointError:
        return
    assert depth <= 1000 and checkpoint.metadata["x"] == json.loads(nested)


def test_lock_when_same_process_run_raised_then_message_says_this_process_and_gc_frees_it(tmp_path: Path) -> None:
    import gc

    manager = CheckpointManager(tmp_path)
    manager.acquire("s")
    with pytest.raises(CheckpointError, match="this process"):
        CheckpointManager(tmp_path).acquire("s")
    del manager
    gc.collect()
    CheckpointManager(tmp_path).acquire("s").release()


def test_resume_when_session_written_in_format_2_then_migrated_and_exact(tmp_path: Path) -> None:
    _run(tmp_path, FRAME.iloc[:12], resume=True, checkpoint_every=3, keep_last=None)
    folder = tmp_path / "s"
    files = sorted(folder.glob("*.json"))
    middle = files[len(files) // 2]  # resume from a checkpoint with a journal tail after it
    for later in files[len(files) // 2 + 1:]:
        later.unlink()
    (folder / "LATEST").write_text(middle.name + "\n")
    lines = (folder / "journal.jsonl").read_bytes().splitlines(keepends=True)
    plain = [line[: line.rindex(b',"sum"')] + b"}\n" for line in lines]  # no checksums then
    (folder / "journal.jsonl").write_bytes(b"".join(plain))
    first_sequence = json.loads(plain[0])["sequence"]
    for path in folder.glob("*.json"):  # every checkpoint as the previous release wrote it
        envelope = json.loads(path.read_text())
        body = envelope["body"]
        body["version"] = envelope["version"] = 2
        mark = body["journal"]
        if mark is not None:
            offset = sum(len(line) for line in plain[: mark["sequence"] - first_sequence + 1])
            body["journal"] = {"sequence": mark["sequence"], "offset": offset}
        _rewrite(path, envelope)
    from finbot_bt.runner.checkpoints import verify_folder

    assert all(problem is None for _, problem in verify_folder(tmp_path))
    latest = CheckpointManager(tmp_path).load_checkpoint("s")
    assert latest.version == 4 and latest.journal is not None and not latest.journal.summed
    recovery = recover(tmp_path, "s")
    assert recovery.events and recovery.tail.legacy
    point = max(json.loads(json.dumps(latest.metadata))["broker"]["last_bar_times"].values())
    whole, reference = _session(FRAME, simulator_id="s")
    second, resumed = _run(tmp_path, FRAME, resume=True)  # the whole history again: processed bars skipped
    assert same(second, [entry for entry in whole if entry[0] > point])
    assert same(_book(resumed), _book(reference))


def test_latest_when_a_newer_checkpoint_than_latest_exists_then_the_newer_one_is_used(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    sim = make_simulator()
    bars = make_bars(6)
    run_step(sim, 0, bars[0])
    first = manager.checkpoint(sim)
    run_step(sim, 1, bars[1])
    second = manager.checkpoint(sim)
    (tmp_path / sim.simulator_id / "LATEST").write_text(first.name + "\n")  # the crash came before LATEST moved
    assert manager.latest_path(sim.simulator_id) == second
    (tmp_path / sim.simulator_id / "LATEST").write_text("20990101T000000.000000-000000000001.json\n")
    second.unlink()
    first.unlink()
    with pytest.raises(CheckpointError, match="does not exist"):
        manager.latest_path(sim.simulator_id)


@pytest.mark.parametrize(("write_key", "read_key", "message"), [
    ("one key", "another key", "seal mismatch"),
    (None, "a key", "not sealed|no seal"),
])
def test_seal_when_read_with_another_key_or_none_written_then_checkpoint_error(
    tmp_path: Path, write_key: str | None, read_key: str, message: str
) -> None:
    writer = CheckpointManager(tmp_path, key=write_key)
    sim = make_simulator()
    writer.open_journal(sim)
    bars = make_bars(8)
    for index in range(4):
        run_step(sim, index, bars[index])
    writer.checkpoint(sim)
    for index in range(4, 8):
        run_step(sim, index, bars[index])
    writer.close()
    with pytest.raises(CheckpointError, match=message):
        recover(tmp_path, sim.simulator_id, manager=CheckpointManager(tmp_path, key=read_key))


@pytest.mark.parametrize("changes", [{"segment_bytes": 0}, {"segment_bytes": True}, {"retention": "delete"}],
                         ids=["zero", "bool", "string"])
def test_journal_config_when_invalid_then_checkpoint_error(changes: dict[str, Any]) -> None:
    with pytest.raises(CheckpointError, match="JournalConfig"):
        JournalConfig(**changes)
