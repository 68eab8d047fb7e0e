"""The journal writer: appends a simulator's events, checks re-emitted ones, rotates segments.

See :mod:`finbot_bt.execution.journal` for the journal's layout and guarantees.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finbot_bt.contracts.codec import encode_event
from finbot_bt.contracts.events import ExecutionEvent
from finbot_bt.errors import CheckpointError
from finbot_bt.execution.journal import (
    FlushPolicy,
    JournalConfig,
    JournalPosition,
    JournalRead,
    JournalWarning,
    TornTail,
)
from finbot_bt.execution.journal_lines import (
    encode_line,
    list_segments,
    open_no_follow,
    parse_line,
    segment_first,
    segment_name,
)
from finbot_bt.execution.simulator import ExecutionSimulator

_TAIL_CHUNK = 65536


class JournalWriter:
    """Appends a simulator's events to a journal (use as a listener).

    ``path`` is the first segment (``{folder}/journal.jsonl``); the writer
    continues in the newest segment of that folder. Opening cuts off a torn
    last line (recorded in :attr:`torn`) and continues after the last event.
    Events the journal already holds (a restored simulator re-emitting what
    happened after its checkpoint) are not written again; those given to
    :meth:`expect` are checked to be identical, and a difference raises
    CheckpointError (the re-fed inputs were not the original ones).
    ``key`` seals each line (see :mod:`finbot_bt.execution.seal`).
    """

    def __init__(self, path: Path | str, config: JournalConfig | None = None, *,
                 key: bytes | None = None) -> None:
        self.path = Path(path)
        self.config = config if config is not None else JournalConfig()
        self.key = key
        self.torn: TornTail | None = None
        self._base = self.path.name
        segments = list_segments(self.path.parent, self._base)
        current = segments[-1] if segments else self.path
        self._segment = current.name
        self._sequence, self._offset = self._open_tail(current)
        self._file_sequence = self._sequence
        self._buffer: list[bytes] = []
        self._buffered_events = 0
        self._expected: dict[int, tuple[dict[str, Any], int, str]] = {}
        self._resume: JournalPosition | None = None
        self._legacy_pending = False
        self._simulator: ExecutionSimulator | None = None
        self.on_failure: Callable[[], None] | None = None
        """Called when a write fails, before the CheckpointError is raised."""
        self._fd = self._open_append(current)

    @staticmethod
    def _open_append(path: Path) -> int:
        try:
            return open_no_follow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except FileNotFoundError as exc:
            raise CheckpointError(f"{path}: cannot open the journal: {exc}") from None

    def _open_tail(self, path: Path) -> tuple[int, int]:
        first = segment_first(self._base, path.name) or 0
        try:
            fd = open_no_follow(path, os.O_RDWR)
        except FileNotFoundError:
            return 0, 0
        try:
            with os.fdopen(fd, "r+b") as fh:
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
                    self.torn = TornTail(path, start + cut, size - start - cut)
                    warnings.warn(str(self.torn), JournalWarning, stacklevel=3)
                    fh.truncate(start + cut)
                    os.fsync(fh.fileno())
                if cut == 0:
                    return max(0, first - 1), 0
                last = chunk[:cut].rstrip(b"\n").rsplit(b"\n", 1)[-1] + b"\n"
                _, event, _ = parse_line(path, last, start + cut, self.key, legacy_ok=True)
                return event.sequence, start + cut
        except OSError as exc:
            raise CheckpointError(f"{path}: cannot open the journal: {exc}") from None

    @property
    def position(self) -> JournalPosition:
        """Position after the last flushed event (call :meth:`flush` first for everything)."""
        return JournalPosition(self._sequence, self._offset, self._segment)

    @property
    def summed(self) -> bool:
        """True if every line after :attr:`position` carries a checksum (what a checkpoint records)."""
        return not (self._legacy_pending and self._expected)

    def expect(self, read: JournalRead) -> None:
        """Events already in the file that a restored simulator will emit again (to verify)."""
        segments = read.segments or (read.start.segment,) * len(read.raw)
        for raw, offset, segment in zip(read.raw, read.offsets, segments, strict=True):
            self._expected[raw["sequence"]] = (raw, offset, segment)
        self._resume = read.start
        self._legacy_pending = read.legacy

    def attach(self, simulator: ExecutionSimulator) -> None:
        """Start recording ``simulator``'s events; its counter must line up with the file."""
        current = simulator.events.sequence
        if self._file_sequence == 0 and self._offset == 0:
            self._sequence = self._file_sequence = current  # a new journal starts where the simulator is
        missing = [s for s in range(current + 1, self._file_sequence + 1) if s not in self._expected]
        if current > self._file_sequence or missing:
            raise CheckpointError(
                f"{self.path}: journal holds events up to {self._file_sequence} but the simulator is at "
                f"event {current}; restore it with recover() or resume=True (or use a new folder or "
                "simulator_id)"
            )
        if current < self._file_sequence:
            resume = self._resume
            if resume is None or resume.sequence != current:
                raise CheckpointError(f"{self.path}: the expected events do not start after event {current}")
            self._sequence, self._offset, self._segment = resume.sequence, resume.offset, resume.segment
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
        self._buffer.append(encode_line(event, self.key))
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
        raw, offset, segment = expected
        if encode_event(event) != raw:
            raise CheckpointError(
                f"{self.path}: event {event.sequence} differs from the journaled one "
                f"({raw.get('type')}); the inputs re-fed after the checkpoint are not the original ones"
            )
        self._sequence, self._offset, self._segment = event.sequence, offset, segment

    def flush(self) -> None:
        """Write buffered lines, then fsync (per the config).

        A failed write (a full disk) is cut back to the last whole line, the
        lines stay buffered, and CheckpointError is raised.
        """
        if not self._buffer:
            return
        if self._offset >= self.config.segment_bytes:
            self._rotate()
        data = b"".join(self._buffer)
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if self.config.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            self._cut_back()
            if self.on_failure is not None:
                self.on_failure()
            raise CheckpointError(f"{self.path.parent / self._segment}: cannot write the journal: {exc}") from None
        self._sequence += len(self._buffer)
        self._file_sequence = self._sequence
        self._offset += len(data)
        self._buffer.clear()

    def _cut_back(self) -> None:
        with contextlib.suppress(OSError):  # else the reopening writer cuts the torn last line
            os.ftruncate(self._fd, self._offset)

    def _rotate(self) -> None:
        name = segment_name(self._base, self._sequence + 1)
        path = self.path.parent / name
        fd = open_no_follow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL)
        os.close(self._fd)
        self._fd, self._segment, self._offset = fd, name, 0
        if self.config.fsync:
            _fsync_folder(self.path.parent)

    def abandon(self) -> None:
        """Detach and close without writing what is buffered (after a failure)."""
        self._buffer.clear()
        if self._simulator is not None:
            self._simulator.remove_listener(self.record)
            self._simulator = None
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1

    def close(self) -> None:
        """Flush, detach and close the file."""
        try:
            self.detach()
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
