"""Append-only event journal: one JSON event a line (JSON Lines), in segments.

The journal lives next to the checkpoints: ``{base_dir}/{simulator_id}/journal.jsonl``
and, once that grows past ``JournalConfig.segment_bytes``, further segments
``journal-{first sequence}.jsonl`` (see :mod:`finbot_bt.execution.journal_lines`).
Each line is :func:`finbot_bt.contracts.codec.encode_event` output plus a
``sum`` (a checksum, or a seal with a key), so it carries the event's
``sequence`` (1, 2, 3... without gaps). A :class:`JournalWriter` is a
simulator listener; its flush policy decides when buffered lines are written
and fsynced: after every event, every N events, or only when a checkpoint is
taken (the checkpoint manager flushes the journal before it records the
journal position in a checkpoint).

A crash can leave a torn last line (bytes after the last newline). Readers
ignore it and say so (a :class:`JournalWarning` and the ``torn`` record);
the writer cuts it off when it reopens the file. Any other damage (a
complete line that is not an event or fails its checksum, a gap in sequence
numbers) raises CheckpointError. A failed write (a full disk) is cut back to
the last whole line and raises CheckpointError; nothing half-written stays.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from finbot_bt.contracts.events import ExecutionEvent, OrderEvent, OrderFilled
from finbot_bt.errors import CheckpointError
from finbot_bt.execution.journal_lines import (
    JOURNAL_NAME,
    list_segments,
    open_no_follow,
    parse_line,
    segment_first,
)

__all__ = ["JOURNAL_NAME", "FlushPolicy", "JournalConfig", "JournalPosition", "JournalRead", "JournalWarning",
           "Retention", "TornTail", "compact_segments", "journal_rows", "read_events",
           "read_journal", "read_tail"]
_TAIL_CHUNK = 65536


class JournalWarning(UserWarning):
    """A torn last journal line was ignored."""


class FlushPolicy(StrEnum):
    """When buffered journal lines are written and fsynced."""

    EVERY_EVENT = "every_event"
    EVERY_N = "every_n"
    ON_CHECKPOINT = "on_checkpoint"


class Retention(StrEnum):
    """What happens to segments wholly before the oldest kept checkpoint."""

    KEEP = "keep"
    ARCHIVE = "archive"
    DELETE = "delete"


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalConfig:
    """Journal settings.

    Parameters
    ----------
    flush : FlushPolicy
        Default EVERY_EVENT: nothing acknowledged by the simulator is lost in a crash.
    every : int
        Events per flush under EVERY_N (>= 1).
    fsync : bool
        fsync the file at each flush (default True); False trades durability for speed.
    segment_bytes : int
        Start a new segment once the current one is at least this large (bytes, default 64 MiB).
    retention : Retention
        Segments no kept checkpoint needs: KEEP them (default), move them to
        ``{simulator folder}/archive/`` (ARCHIVE) or DELETE them.
    """

    flush: FlushPolicy = FlushPolicy.EVERY_EVENT
    every: int = 1000
    fsync: bool = True
    segment_bytes: int = 64 * 1024 * 1024
    retention: Retention = Retention.KEEP

    def __post_init__(self) -> None:
        if not isinstance(self.flush, FlushPolicy):
            raise CheckpointError(f"JournalConfig.flush must be a FlushPolicy, got {self.flush!r}")
        if not isinstance(self.every, int) or self.every < 1:
            raise CheckpointError(f"JournalConfig.every must be an int >= 1, got {self.every!r}")
        if not isinstance(self.segment_bytes, int) or isinstance(self.segment_bytes, bool) \
                or self.segment_bytes < 1:
            raise CheckpointError(f"JournalConfig.segment_bytes must be an int >= 1, got {self.segment_bytes!r}")
        if not isinstance(self.retention, Retention):
            raise CheckpointError(f"JournalConfig.retention must be a Retention, got {self.retention!r}")


@dataclass(frozen=True, slots=True)
class JournalPosition:
    """Last event sequence written, the byte offset just after its line, and its segment's file name."""

    sequence: int
    offset: int
    segment: str = JOURNAL_NAME


@dataclass(frozen=True, slots=True)
class TornTail:
    """Bytes after the journal's last newline: a line cut by a crash."""

    path: Path
    offset: int
    length: int

    def __str__(self) -> str:
        return (f"{self.path}: ignored a torn last line of {self.length} bytes at offset {self.offset} "
                "(a write cut short by a crash)")


@dataclass(frozen=True, slots=True)
class JournalRead:
    """Events read from a journal, each with the byte offset after its line and its segment."""

    events: tuple[ExecutionEvent, ...]
    offsets: tuple[int, ...]
    start: JournalPosition
    end: JournalPosition
    torn: TornTail | None = None
    raw: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    segments: tuple[str, ...] = field(default=(), repr=False)
    legacy: bool = False
    """Some lines read had no checksum (written by an older version)."""


def read_events(path: Path | str, *, offset: int = 0, after_sequence: int = 0, key: bytes | None = None,
                legacy_ok: bool = True, torn_ok: bool = True) -> JournalRead:
    """Read the events of one journal file at ``path`` starting at byte ``offset``.

    ``after_sequence`` is the sequence of the last event before ``offset``;
    the first event read must be ``after_sequence + 1`` (from the start of the
    file with ``after_sequence=0``, the journal may begin at any sequence). A missing file reads
    as empty. ``key`` checks sealed lines; ``legacy_ok`` allows lines without a checksum before
    the first one with. Raises CheckpointError on damage other than a torn last line.
    """
    path = Path(path)
    try:
        fd = open_no_follow(path, os.O_RDONLY)
    except FileNotFoundError:
        if offset:
            raise CheckpointError(f"{path}: journal is missing but a checkpoint points into it") from None
        start = JournalPosition(after_sequence, 0, path.name)
        return JournalRead((), (), start, start)
    try:
        with os.fdopen(fd, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if offset > size:
                raise CheckpointError(f"{path}: journal is {size} bytes, shorter than the recorded offset {offset}")
            fh.seek(offset)
            data = fh.read()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the journal: {exc}") from None
    cut = data.rfind(b"\n") + 1
    torn = None
    if cut < len(data):
        torn = TornTail(path, offset + cut, len(data) - cut)
        if not torn_ok:
            raise CheckpointError(f"{path}: a line is cut at byte {offset + cut} in a segment that is not the last")
        warnings.warn(str(torn), JournalWarning, stacklevel=2)
    events: list[ExecutionEvent] = []
    offsets: list[int] = []
    raws: list[dict[str, Any]] = []
    sequence, position, legacy = after_sequence, offset, False
    for line in data[:cut].splitlines(keepends=True):
        position += len(line)
        raw, event, summed = parse_line(path, line, position, key, legacy_ok)
        if summed:
            legacy_ok = False
        else:
            legacy = True
        if offset == 0 and not events and after_sequence == 0:
            sequence = event.sequence - 1  # a journal may begin after event 1 (attached late)
        if event.sequence != sequence + 1:
            raise CheckpointError(f"{path}: event sequence jumps from {sequence} to {event.sequence} "
                                  f"(line ending at byte {position})")
        sequence = event.sequence
        events.append(event)
        offsets.append(position)
        raws.append(raw)
    return JournalRead(tuple(events), tuple(offsets), JournalPosition(after_sequence, offset, path.name),
                       JournalPosition(sequence, position, path.name), torn, tuple(raws),
                       (path.name,) * len(events), legacy)


def read_tail(folder: Path, start: JournalPosition, *, key: bytes | None = None, legacy_ok: bool = True,
              base: str = JOURNAL_NAME) -> JournalRead:
    """Every event after ``start`` across the journal segments in ``folder`` (see :func:`read_events`)."""
    segments = list_segments(folder, base)
    names = [p.name for p in segments]
    if start.segment not in names:
        if start.offset or segments:
            raise CheckpointError(f"{folder / start.segment}: journal segment is missing but a checkpoint "
                                  "points into it")
        return JournalRead((), (), start, start)
    chosen = segments[names.index(start.segment):]
    events: list[ExecutionEvent] = []
    offsets: list[int] = []
    raws: list[dict[str, Any]] = []
    where: list[str] = []
    end, torn, legacy = start, None, False
    for index, path in enumerate(chosen):
        first = segment_first(base, path.name) or 0
        offset = start.offset if path.name == start.segment else 0
        if first and offset == 0 and first != end.sequence + 1 and (end.sequence or index):
            raise CheckpointError(f"{path}: segment starts at event {first} but the journal before it ends "
                                  f"at event {end.sequence}")
        read = read_events(path, offset=offset, after_sequence=end.sequence, key=key, legacy_ok=legacy_ok,
                           torn_ok=index == len(chosen) - 1)
        if read.events and first and offset == 0 and read.events[0].sequence != first:
            raise CheckpointError(f"{path}: first event is {read.events[0].sequence}, the name says {first}")
        end = read.end if read.events else JournalPosition(end.sequence, read.end.offset, path.name)
        events.extend(read.events)
        offsets.extend(read.offsets)
        raws.extend(read.raw)
        where.extend(read.segments)
        torn = read.torn or torn
        legacy = legacy or read.legacy
        if read.events and not read.legacy:
            legacy_ok = False
    return JournalRead(tuple(events), tuple(offsets), start, end, torn, tuple(raws), tuple(where), legacy)


def compact_segments(folder: Path, keep_from: str, retention: Retention, *, base: str = JOURNAL_NAME) -> list[Path]:
    """Archive or delete the segments before ``keep_from``; return the paths moved or removed."""
    if retention is Retention.KEEP:
        return []
    segments = list_segments(folder, base)
    names = [p.name for p in segments]
    if keep_from not in names:
        return []
    done = []
    for path in segments[: names.index(keep_from)]:
        try:
            if retention is Retention.ARCHIVE:
                archive = folder / "archive"
                archive.mkdir(exist_ok=True)
                shutil.move(str(path), str(archive / path.name))
            else:
                path.unlink()
        except OSError as exc:
            raise CheckpointError(f"{path}: cannot {retention.value} the journal segment: {exc}") from None
        done.append(path)
    return done


# ---------------------------------------------------------------------- reading
_COLUMNS = ("sequence", "event", "timestamp", "order_id", "symbol", "side", "order_type", "status",
            "quantity", "filled_quantity", "avg_fill_price", "fill_quantity", "fill_price",
            "commission", "realized_pnl", "reason", "message")


def journal_rows(events: Iterable[ExecutionEvent]) -> list[dict[str, Any]]:
    """Flat rows (one per event) with the columns of :func:`read_journal`."""
    rows = []
    for event in events:
        row: dict[str, Any] = dict.fromkeys(_COLUMNS)
        row.update(sequence=event.sequence, event=type(event).__name__, timestamp=event.timestamp)
        order = getattr(event, "order", None)
        if isinstance(event, OrderEvent) or order is not None:
            assert order is not None
            row.update(order_id=order.order_id, symbol=order.symbol, side=order.side.value,
                       order_type=order.order_type.value, status=order.status.value,
                       quantity=order.quantity, filled_quantity=order.filled_quantity,
                       avg_fill_price=order.avg_fill_price)
        if isinstance(event, OrderFilled):
            row.update(fill_quantity=event.execution.quantity, fill_price=event.execution.price,
                       commission=event.execution.commission, realized_pnl=event.realized_pnl)
        if getattr(event, "order_id", None) is not None:
            row["order_id"] = getattr(event, "order_id", None)
        reason = getattr(event, "reason", None)
        row["reason"] = None if reason is None else str(reason)
        row["message"] = getattr(event, "message", None)
        rows.append(row)
    return rows


def read_journal(path: Path | str) -> Any:
    """The journal as a pandas DataFrame, one row per event (Decimals kept exact).

    ``path`` is one journal file, or a simulator's folder (all its segments in
    order). Columns: sequence, event, timestamp, order_id, symbol, side,
    order_type, status, quantity, filled_quantity, avg_fill_price,
    fill_quantity, fill_price, commission, realized_pnl, reason, message. A
    torn last line is ignored; ``df.attrs["torn"]`` then describes it.
    """
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    path = Path(path)
    read = read_tail(path, JournalPosition(0, 0)) if path.is_dir() else read_events(path)
    frame = pd.DataFrame(journal_rows(read.events), columns=list(_COLUMNS))
    frame.attrs["torn"] = None if read.torn is None else str(read.torn)
    return frame



def __getattr__(name: str) -> Any:
    # JournalWriter lives in journal_writer.py, which imports this module; kept importable from here.
    if name == "JournalWriter":
        from finbot_bt.execution.journal_writer import JournalWriter

        return JournalWriter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
