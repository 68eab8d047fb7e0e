"""Inspect checkpoint folders for ``finbot-bt checkpoints list|show|verify``.

A folder is either a checkpoint base directory (one subfolder per simulator
id, as :class:`~finbot_bt.execution.checkpoint.CheckpointManager` writes) or
one simulator's folder. Nothing here writes to the folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from finbot_bt.contracts.checkpoint import Checkpoint
from finbot_bt.contracts.enums import OrderStatus
from finbot_bt.errors import CheckpointError
from finbot_bt.execution.checkpoint import (
    LATEST_NAME,
    CheckpointInfo,
    CheckpointManager,
    read_checkpoint_file,
)


@dataclass(frozen=True, slots=True)
class Listing:
    """The checkpoints of one simulator, oldest first, and the file ``LATEST`` names."""

    simulator_id: str
    checkpoints: tuple[CheckpointInfo, ...]
    latest: Path | None


def _manager(folder: Path) -> tuple[CheckpointManager, list[str]]:
    try:
        if not folder.is_dir():
            raise CheckpointError(f"checkpoint folder not found: {folder}")
        own = (folder / LATEST_NAME).exists() or any(folder.glob("*.json"))
        base = folder.parent if own else folder
        manager = CheckpointManager(base)
        ids = [folder.name] if own else sorted(p.name for p in folder.iterdir() if p.is_dir()
                                               and not p.name.startswith("."))
    except OSError as exc:
        raise CheckpointError(f"{folder}: cannot read the checkpoint folder: {exc}") from None
    return manager, ids


def list_folder(folder: str | Path) -> list[Listing]:
    """Every simulator's checkpoints under ``folder`` (CheckpointError if it is not a folder)."""
    manager, ids = _manager(Path(folder))
    out = []
    for simulator_id in ids:
        infos = tuple(manager.list_checkpoints(simulator_id))
        if not infos:
            continue
        try:
            latest: Path | None = manager.latest_path(simulator_id)
        except CheckpointError:
            latest = None
        out.append(Listing(simulator_id, infos, latest))
    return out


def resolve_checkpoint(target: str | Path, simulator_id: str | None = None) -> Path:
    """A checkpoint file: ``target`` itself, or the latest one in the folder ``target``."""
    path = Path(target)
    if path.is_file():
        return path
    listings = list_folder(path)
    if simulator_id is not None:
        listings = [item for item in listings if item.simulator_id == simulator_id]
    if not listings:
        who = f" of simulator {simulator_id!r}" if simulator_id else ""
        raise CheckpointError(f"no checkpoints{who} in {path}")
    if len(listings) > 1:
        names = ", ".join(item.simulator_id for item in listings)
        raise CheckpointError(f"{path} holds several simulators ({names}); choose one with --simulator")
    chosen = listings[0]
    return chosen.latest or chosen.checkpoints[-1].path


def describe(checkpoint: Checkpoint, path: Path) -> list[tuple[str, str]]:
    """``(field, value)`` rows for ``finbot-bt checkpoints show`` (money rounded, metadata summarised).

    A value may span several lines (one position or one metadata entry a line).
    """
    account = checkpoint.account
    positions = "\n".join(f"{p.symbol}: {_amount(p.quantity, 4)} @ {_amount(p.avg_price, 4)}"
                          for p in account.positions if Decimal(p.quantity) != 0) or "none"
    open_orders = sum(1 for o in checkpoint.orders if OrderStatus(o.status).is_open)
    latency = checkpoint.config.latency
    journal = checkpoint.journal
    return [
        ("file", str(path)),
        ("simulator_id", checkpoint.simulator_id),
        ("version", str(checkpoint.version)),
        ("simulated time", checkpoint.timestamp or "start"),
        ("events", f"{checkpoint.counters.events:,}"),
        ("cash", _amount(account.cash, 2)),
        ("initial cash", _amount(checkpoint.config.initial_cash, 2)),
        ("positions", positions),
        ("orders", f"{len(checkpoint.orders)} ({open_orders} open)"),
        ("pending actions", str(len(checkpoint.queue.actions))),
        ("trading state", account.trading_state),
        ("seed", str(checkpoint.config.seed)),
        ("latency", latency.name or "custom"),
        ("risk", "on" if checkpoint.config.risk else "off"),
        ("journal", "none" if journal is None else f"{journal.segment} up to event {journal.sequence:,} "
                                                    f"(byte {journal.offset:,})"),
        ("metadata", _metadata(checkpoint.metadata)),
    ]


def _amount(text: str, places: int) -> str:
    value = Decimal(text)
    return f"{value:,.{places}f}" if value.is_finite() else text


def _metadata(metadata: dict[str, Any]) -> str:
    rows = []
    for key, value in sorted(metadata.items()):
        if key == "broker" and isinstance(value, dict):
            rows.append("broker=" + _broker_summary(value))
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            rows.append(f"{key}={text if len(text) <= 60 else text[:57] + '...'}")
    return "\n".join(rows) or "none"


def _broker_summary(state: dict[str, Any]) -> str:
    def count(name: str) -> int:
        items = state.get(name)
        return len(items) if isinstance(items, (list, dict)) else 0

    bars = state.get("last_bar_times")
    last = max(bars.values()) if isinstance(bars, dict) and bars else "none"
    return (f"FinbotBroker state v{state.get('version')}: {count('open')} open Backtrader order(s), "
            f"{count('pending_notifications')} pending notification(s), {count('trades')} open trade(s), "
            f"last bar {last}")


def show(target: str | Path, simulator_id: str | None = None) -> list[tuple[str, str]]:
    """Read and describe one checkpoint (schema and hash checked, no trial restore)."""
    path = resolve_checkpoint(target, simulator_id)
    return describe(read_checkpoint_file(path), path)


def verify_folder(target: str | Path) -> list[tuple[Path, str | None]]:
    """Fully verify every checkpoint under ``target`` (or the file ``target``) and each journal.

    A checkpoint written by FinbotBroker also has its broker state validated;
    each simulator's journal is read from its latest checkpoint on (checksums
    and the sequence chain). Returns ``(path, None)`` for a good file and
    ``(path, message)`` for a bad one.
    """
    import finbot_bt.broker.persistence  # noqa: F401  registers the broker's model references

    path = Path(target)
    if path.is_file():
        manager = CheckpointManager(path.parent.parent)
        files = [path]
        ids: list[str] = []
    else:
        manager, ids = _manager(path)
        files = [info.path for listing in list_folder(path) for info in listing.checkpoints]
    out: list[tuple[Path, str | None]] = []
    for file in files:
        try:
            _verify_one(manager, file)
        except CheckpointError as exc:
            out.append((file, str(exc)))
        else:
            out.append((file, None))
    for simulator_id in ids:
        out.extend(_verify_journal(manager, simulator_id))
    return out


def _verify_one(manager: CheckpointManager, file: Path) -> None:
    from finbot_bt.broker.state_schema import validate_broker_state

    checkpoint = manager.verify(file)
    if "broker" in checkpoint.metadata or _written_by_broker(checkpoint):
        try:
            validate_broker_state(checkpoint.metadata.get("broker"))
        except CheckpointError as exc:
            raise CheckpointError(f"{file}: {exc}") from None


def _written_by_broker(checkpoint: Checkpoint) -> bool:
    text = f"{checkpoint.config.commission.type} {checkpoint.config.fill.fields}"
    return "Backtrader" in text


def _verify_journal(manager: CheckpointManager, simulator_id: str) -> list[tuple[Path, str | None]]:
    from finbot_bt.execution.journal_lines import list_segments
    from finbot_bt.execution.recovery import journal_tail

    folder = manager.simulator_dir(simulator_id)
    segments = list_segments(folder)
    if not segments:
        return []
    try:
        latest = manager.latest_path(simulator_id)
        journal_tail(manager, manager.read(latest), latest)
    except CheckpointError as exc:
        return [(segments[-1], str(exc))]
    return [(segment, None) for segment in segments]


__all__ = ["Listing", "describe", "list_folder", "resolve_checkpoint", "show", "verify_folder"]
