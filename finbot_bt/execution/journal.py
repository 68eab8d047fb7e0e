"""Append-only event journal: one JSON event a line (JSON Lines).

The journal lives next to the checkpoints, ``{base_dir}/{simulator_id}/journal.jsonl``.
Each line is :func:`finbot_bt.contracts.codec.encode_event` output, so it
carries the event's ``sequence`` (1, 2, 3... without gaps). A
:class:`JournalWriter` is a simulator listener; its flush policy decides when
buffered lines are written and fsynced: after every event, every N events, or
only when a checkpoint is taken (the checkpoint manager flushes the journal
before it records the journal position in a checkpoint).

A crash can leave a torn last line (bytes after the last newline). Readers
ignore it and say so (a :class:`JournalWarning` and the ``torn`` record);
the writer cuts it off when it reopens the file. Any other damage (a
complete line that is not an event, a gap in sequence numbers) raises
CheckpointError.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from finbot_bt.contracts.codec import decode_event, encode_event
from finbot_bt.contracts.events import ExecutionEvent, OrderEvent, OrderFilled
from finbot_bt.errors import CheckpointError, FinbotError
from finbot_bt.execution.simulator import ExecutionSimulator

JOURNAL_NAME = "journal.jsonl"
"""File name of the journal inside a simulator's checkpoint folder."""
_TAIL_CHUNK = 65536


class JournalWarning(UserWarning):
    """A torn last journal line was ignored."""


class FlushPolicy(StrEnum):
    """When buffered journal lines are written and fsynced."""

    EVERY_EVENT = "every_event"
    EVERY_N = "every_n"
    ON_CHECKPOINT = "on_checkpoint"


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
    """

    flush: FlushPolicy = FlushPolicy.EVERY_EVENT
    every: int = 1000
    fsync: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.flush, FlushPolicy):
            raise CheckpointError(f"JournalConfig.flush must be a FlushPolicy, got {self.flush!r}")
        if not isinstance(self.every, int) or self.every < 1:
            raise CheckpointError(f"JournalConfig.every must be an int >= 1, got {self.every!r}")


@dataclass(frozen=True, slots=True)
class JournalPosition:
    """Last event sequence written and the byte offset just after its line."""

    sequence: int
    offset: int


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
    """Events read from a journal, each with the byte offset after its line."""

    events: tuple[ExecutionEvent, ...]
    offsets: tuple[int, ...]
    start: JournalPosition
    end: JournalPosition
    torn: TornTail | None = None
    raw: tuple[dict[str, Any], ...] = field(default=(), repr=False)


def read_events(path: Path | str, *, offset: int = 0, after_sequence: int = 0) -> JournalRead:
    """Read the events of the journal at ``path`` starting at byte ``offset``.

    ``after_sequence`` is the sequence of the last event before ``offset``;
    the first event read must be ``after_sequence + 1`` (from the start of the
    file with ``after_sequence=0``, the journal may begin at any sequence). A missing file reads
    as empty. Raises CheckpointError on damage other than a torn last line.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if offset > size:
                raise CheckpointError(f"{path}: journal is {size} bytes, shorter than the recorded offset {offset}")
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        if offset:
            raise CheckpointError(f"{path}: journal is missing but a checkpoint points into it") from None
        start = JournalPosition(after_sequence, 0)
        return JournalRead((), (), start, start)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the journal: {exc}") from None
    cut = data.rfind(b"\n") + 1
    torn = None
    if cut < len(data):
        torn = TornTail(path, offset + cut, len(data) - cut)
        warnings.warn(str(torn), JournalWarning, stacklevel=2)
    events: list[ExecutionEvent] = []
    offsets: list[int] = []
    raws: list[dict[str, Any]] = []
    sequence, position = after_sequence, offset
    for line in data[:cut].splitlines(keepends=True):
        position += len(line)
        raw, event = _parse_line(path, line, position)
        if offset == 0 and not events and after_sequence == 0:
            sequence = event.sequence - 1  # a journal may begin after event 1 (attached late)
        if event.sequence != sequence + 1:
            raise CheckpointError(f"{path}: event sequence jumps from {sequence} to {event.sequence} "
                                  f"(line ending at byte {position})")
        sequence = event.sequence
        events.append(event)
        offsets.append(position)
        raws.append(raw)
    return JournalRead(tuple(events), tuple(offsets), JournalPosition(after_sequence, offset),
                       JournalPosition(sequence, position), torn, tuple(raws))


def _parse_line(path: Path, line: bytes, end: int) -> tuple[dict[str, Any], ExecutionEvent]:
    try:
        raw = json.loads(line, parse_constant=_refuse_constant)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        return raw, decode_event(raw)
    except (ValueError, RecursionError, FinbotError, TypeError) as exc:
        raise CheckpointError(f"{path}: damaged journal line ending at byte {end}: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


class JournalWriter:
    """Appends a simulator's events to a journal file (use as a listener).

    Opening an existing journal cuts off a torn last line (recorded in
    :attr:`torn`) and continues after its last event. Events the file already
    holds (a restored simulator re-emitting what happened after its checkpoint)
    are not written again; those given to :meth:`expect` are checked to be
    identical, and a difference raises CheckpointError (the re-fed inputs
    were not the original ones).
    """

    def __init__(self, path: Path | str, config: JournalConfig | None = None) -> None:
        self.path = Path(path)
        self.config = config if config is not None else JournalConfig()
        self.torn: TornTail | None = None
        self._sequence, self._offset = self._open_tail()
        self._file_sequence = self._sequence
        self._buffer: list[bytes] = []
        self._expected: dict[int, tuple[dict[str, Any], int]] = {}
        self._resume: JournalPosition | None = None
        self._simulator: ExecutionSimulator | None = None
        try:
            self._fh = self.path.open("ab")
        except OSError as exc:
            raise CheckpointError(f"{self.path}: cannot open the journal: {exc}") from None

    def _open_tail(self) -> tuple[int, int]:
        try:
            with self.path.open("r+b") as fh:
                size = os.fstat(fh.fileno()).st_size
                start = size
                chunk = b""
                while start > 0:
                    start = max(0, start - _TAIL_CHUNK)
                    fh.seek(start)
                    chunk = fh.read(size - start)
                    if chunk.count(b"\n") >= 2 or start == 0:
                        break
                cut = chunk.rfind(b"\n") + 1
                if start + cut < size:
                    self.torn = TornTail(self.path, start + cut, size - start - cut)
                    warnings.warn(str(self.torn), JournalWarning, stacklevel=3)
                    fh.truncate(start + cut)
                    os.fsync(fh.fileno())
                if cut == 0:
                    return 0, 0
                last = chunk[:cut].rstrip(b"\n").rsplit(b"\n", 1)[-1] + b"\n"
                _, event = _parse_line(self.path, last, start + cut)
                return event.sequence, start + cut
        except FileNotFoundError:
            return 0, 0
        except OSError as exc:
            raise CheckpointError(f"{self.path}: cannot open the journal: {exc}") from None

    @property
    def position(self) -> JournalPosition:
        """Position after the last flushed event (call :meth:`flush` first for everything)."""
        return JournalPosition(self._sequence, self._offset)

    def expect(self, read: JournalRead) -> None:
        """Events already in the file that a restored simulator will emit again (to verify)."""
        for raw, offset in zip(read.raw, read.offsets, strict=True):
            self._expected[raw["sequence"]] = (raw, offset)
        self._resume = read.start

    def attach(self, simulator: ExecutionSimulator) -> None:
        """Start recording ``simulator``'s events; its counter must line up with the file."""
        current = simulator._event_sequence
        if self._file_sequence == 0 and self._offset == 0:
            self._sequence = self._file_sequence = current  # a new journal starts where the simulator is
        missing = [s for s in range(current + 1, self._file_sequence + 1) if s not in self._expected]
        if current > self._file_sequence or missing:
            raise CheckpointError(
                f"{self.path}: journal holds events 1..{self._file_sequence} but the simulator is at "
                f"event {current}; restore it with recover() (or use a new journal)"
            )
        if current < self._file_sequence:
            resume = self._resume
            if resume is None or resume.sequence != current:
                raise CheckpointError(f"{self.path}: the expected events do not start after event {current}")
            self._sequence, self._offset = resume.sequence, resume.offset
        simulator.add_listener(self.record)
        self._simulator = simulator

    def detach(self) -> None:
        """Stop recording (flushes first)."""
        self.flush()
        if self._simulator is not None:
            self._simulator.remove_listener(self.record)
            self._simulator = None

    def record(self, event: ExecutionEvent) -> None:
        """Listener: journal ``event`` (flushed according to the policy)."""
        if event.sequence <= self._file_sequence:
            self._verify(event)
            return
        line = json.dumps(encode_event(event), separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8") + b"\n"
        self._buffer.append(line)
        policy = self.config.flush
        if policy is FlushPolicy.EVERY_EVENT or (
            policy is FlushPolicy.EVERY_N and len(self._buffer) >= self.config.every
        ):
            self.flush()

    def _verify(self, event: ExecutionEvent) -> None:
        expected = self._expected.pop(event.sequence, None)
        if expected is None:
            raise CheckpointError(f"{self.path}: event {event.sequence} is already journaled and was not "
                                  "expected; journal and simulator disagree")
        raw, offset = expected
        if encode_event(event) != raw:
            raise CheckpointError(
                f"{self.path}: event {event.sequence} differs from the journaled one "
                f"({raw.get('type')}); the inputs re-fed after the checkpoint are not the original ones"
            )
        self._sequence, self._offset = event.sequence, offset

    def flush(self) -> None:
        """Write buffered lines, then fsync (per the config)."""
        if not self._buffer:
            return
        data = b"".join(self._buffer)
        try:
            self._fh.write(data)
            self._fh.flush()
            if self.config.fsync:
                os.fsync(self._fh.fileno())
        except OSError as exc:
            raise CheckpointError(f"{self.path}: cannot write the journal: {exc}") from None
        self._sequence += len(self._buffer)
        self._file_sequence = self._sequence
        self._offset += len(data)
        self._buffer.clear()

    def close(self) -> None:
        """Flush, detach and close the file."""
        self.detach()
        self._fh.close()


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

    Columns: sequence, event, timestamp, order_id, symbol, side, order_type,
    status, quantity, filled_quantity, avg_fill_price, fill_quantity,
    fill_price, commission, realized_pnl, reason, message. A torn last line
    is ignored; ``df.attrs["torn"]`` then describes it.
    """
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    read = read_events(path)
    frame = pd.DataFrame(journal_rows(read.events), columns=list(_COLUMNS))
    frame.attrs["torn"] = None if read.torn is None else str(read.torn)
    return frame
