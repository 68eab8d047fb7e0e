"""Checkpoint manager: atomic, hashed (or sealed), versioned JSON checkpoints of a simulator.

Layout under ``base_dir``::

    {simulator_id}/{clock}-{event sequence}.json   one checkpoint per file
    {simulator_id}/LATEST                          name of the newest saved file
    {simulator_id}/journal.jsonl, journal-*.jsonl  the event journal in segments (see journal.py)
    {simulator_id}/LOCK                            the writer's session lock (see session_lock.py)

File names use the *simulated* clock (``20240102T160000.000000`` in UTC for
aware clocks, ``start`` before the first input) and the event sequence, so
they sort in simulation order. Files are written atomically (see
:mod:`finbot_bt.execution.checkpoint_io`) and ``LATEST`` is replaced after
the checkpoint: a crash between the two leaves a checkpoint newer than
``LATEST``, which :meth:`CheckpointManager.latest_path` finds.

``simulator_id`` must be a plain name of at most 128 UTF-8 bytes; nothing
outside ``base_dir`` is read or written, symlinked files are refused, and
every operating-system error on the folder is a CheckpointError.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finbot_bt.contracts.checkpoint import MAX_SIMULATOR_ID_BYTES, SIMULATOR_ID_PATTERN, Checkpoint
from finbot_bt.contracts.codec import decode_optional_datetime
from finbot_bt.errors import CheckpointError
from finbot_bt.execution.checkpoint_io import (
    MAX_FILE_BYTES,
    atomic_write,
    envelope_bytes,
    read_bytes,
    read_checkpoint_file,
    remove_orphans,
)
from finbot_bt.execution.journal import (
    JOURNAL_NAME,
    JournalConfig,
    JournalRead,
    Retention,
    compact_segments,
)
from finbot_bt.execution.journal_writer import JournalWriter
from finbot_bt.execution.seal import resolve_key
from finbot_bt.execution.session_lock import SessionLock
from finbot_bt.execution.simulator import ExecutionSimulator
from finbot_bt.execution.snapshot import restore_simulator_state, snapshot_simulator, validate_body

__all__ = ["LATEST_NAME", "MAX_FILE_BYTES", "CheckpointInfo", "CheckpointManager", "atomic_write",
           "read_checkpoint_file"]

LATEST_NAME = "LATEST"
"""Pointer file holding the name of the newest saved checkpoint."""
_FILE = re.compile(r"(?:start|\d{8}T\d{6}\.\d{6})-\d{12,20}\.json")


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """One checkpoint file: its path, simulated time (None at start) and event sequence."""

    path: Path
    timestamp: datetime | None
    sequence: int


class CheckpointManager:
    """Save, list, verify, load and restore checkpoints under ``base_dir``.

    Parameters
    ----------
    base_dir : path
        Root folder; one subfolder per simulator id (created as needed).
    keep_last : int or None
        Keep only the newest N checkpoints of each simulator (None keeps all).
    max_file_bytes : int
        Larger files are refused on load.
    key : bytes, str or None
        Seal checkpoints and journal lines with this key (HMAC); None uses
        ``FINBOT_BT_CHECKPOINT_KEY`` if set, else plain hashes. Reading then
        requires the same key.
    """

    def __init__(self, base_dir: Path | str, keep_last: int | None = None,
                 *, max_file_bytes: int = MAX_FILE_BYTES, key: bytes | str | None = None) -> None:
        if keep_last is not None and (not isinstance(keep_last, int) or isinstance(keep_last, bool)
                                      or keep_last < 1):
            raise CheckpointError(f"keep_last must be None or an int >= 1, got {keep_last!r}")
        self.key = resolve_key(key)
        self.keep_last = keep_last
        self.max_file_bytes = max_file_bytes
        self._journals: dict[str, tuple[ExecutionSimulator, JournalWriter]] = {}
        self._locks: dict[str, SessionLock] = {}
        try:
            self.base_dir = Path(base_dir).resolve()
            self.base_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"cannot create checkpoint folder {base_dir}: {exc}") from None

    # ------------------------------------------------------------------ paths
    def simulator_dir(self, simulator_id: str) -> Path:
        """Folder of ``simulator_id`` (refuses ids that are not plain names)."""
        if not isinstance(simulator_id, str) or not re.fullmatch(SIMULATOR_ID_PATTERN, simulator_id):
            raise CheckpointError(f"simulator_id must be a plain name (no path separators, no leading dot), "
                                  f"got {simulator_id!r}")
        if len(simulator_id.encode("utf-8", "surrogatepass")) > MAX_SIMULATOR_ID_BYTES:
            raise CheckpointError(f"simulator_id is {len(simulator_id.encode('utf-8', 'surrogatepass'))} bytes "
                                  f"in UTF-8; at most {MAX_SIMULATOR_ID_BYTES} fit a folder name")
        path = self.base_dir / simulator_id
        try:
            outside = path.is_symlink() or path.resolve().parent != self.base_dir
        except OSError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        if outside:
            raise CheckpointError(f"{path} leaves the checkpoint folder {self.base_dir}")
        return path

    def _folder(self, simulator_id: str) -> Path:
        folder = self.simulator_dir(simulator_id)
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"cannot create the checkpoint folder {folder}: {exc}") from None
        return folder

    def journal_path(self, simulator_id: str) -> Path:
        """Path of the first journal segment of ``simulator_id``."""
        return self.simulator_dir(simulator_id) / JOURNAL_NAME

    def _inside(self, path: Path | str) -> Path:
        candidate = Path(path)
        if candidate.is_symlink():
            raise CheckpointError(f"{path} is a symlink; checkpoint files must be plain files")
        resolved = candidate.resolve()
        if not resolved.is_relative_to(self.base_dir):
            raise CheckpointError(f"{path} is outside the checkpoint folder {self.base_dir}")
        return resolved

    # ------------------------------------------------------------------ session
    def acquire(self, simulator_id: str) -> SessionLock:
        """Lock the session of ``simulator_id`` for this process and remove orphan temporary files.

        Raises CheckpointError naming the other process if it holds the lock.
        Released by :meth:`close` (or by the operating system if the process dies).
        """
        held = self._locks.get(simulator_id)
        if held is not None and held.held:
            return held
        folder = self._folder(simulator_id)
        lock = SessionLock(folder)
        try:
            remove_orphans(folder)
        except CheckpointError:
            lock.release()
            raise
        self._locks[simulator_id] = lock
        return lock

    # ------------------------------------------------------------------ journal
    def open_journal(self, simulator: ExecutionSimulator, config: JournalConfig | None = None,
                     *, expect: JournalRead | None = None) -> JournalWriter:
        """Attach the journal of ``simulator.simulator_id`` to ``simulator``.

        ``expect`` is the journal tail from :func:`~finbot_bt.execution.recovery.recover`:
        those events are checked, not written again, when the restored simulator re-emits them.
        """
        folder = self._folder(simulator.simulator_id)
        previous = self._journals.pop(simulator.simulator_id, None)
        if previous is not None:
            previous[1].close()
        writer = JournalWriter(folder / JOURNAL_NAME, config, key=self.key)
        if expect is not None:
            writer.expect(expect)
        try:
            writer.attach(simulator)
        except CheckpointError:
            writer.close()
            raise
        self._journals[simulator.simulator_id] = (simulator, writer)
        return writer

    def close(self) -> None:
        """Flush and close every journal opened by this manager and release its session locks."""
        try:
            for _, writer in self._journals.values():
                writer.close()
        finally:
            self._journals.clear()
            for lock in self._locks.values():
                lock.release()
            self._locks.clear()

    def abandon(self) -> None:
        """Close every journal without writing its buffer and release the session locks (after a failure)."""
        for _, writer in self._journals.values():
            writer.abandon()
        self._journals.clear()
        for lock in self._locks.values():
            lock.release()
        self._locks.clear()

    # ------------------------------------------------------------------ create / save
    def create_checkpoint(self, simulator: ExecutionSimulator, metadata: Mapping[str, Any] | None = None,
                          *, history: bool = True) -> Checkpoint:
        """Snapshot ``simulator`` (flushing its journal first and recording its position).

        ``history=False`` leaves out finished orders nothing refers to any more (state, not history).
        """
        position = None
        attached = self._journals.get(simulator.simulator_id)
        if attached is not None and attached[0] is simulator:
            writer = attached[1]
            writer.flush()
            if writer.position.sequence != simulator.events.sequence:
                raise CheckpointError(f"journal {writer.path} is at event {writer.position.sequence}, "
                                      f"the simulator at {simulator.events.sequence}")
            at = writer.position
            position = {"sequence": at.sequence, "offset": at.offset, "segment": at.segment,
                        "summed": writer.summed}
        body = snapshot_simulator(simulator, journal=position, metadata=metadata, history=history)
        return validate_body(body)

    def save_checkpoint(self, checkpoint: Checkpoint) -> Path:
        """Write ``checkpoint`` atomically, update ``LATEST``, apply retention; return its path."""
        folder = self._folder(checkpoint.simulator_id)
        data = envelope_bytes(checkpoint.model_dump(mode="json"), self.key)
        path = folder / _file_name(checkpoint)
        try:
            atomic_write(path, data)
            atomic_write(folder / LATEST_NAME, path.name.encode("ascii") + b"\n")
        except OSError as exc:
            raise CheckpointError(f"cannot write checkpoint {path}: {exc}") from None
        if self.keep_last is not None:
            self._prune(checkpoint.simulator_id, keep=path)
        return path

    def checkpoint(self, simulator: ExecutionSimulator, metadata: Mapping[str, Any] | None = None,
                   *, history: bool = True) -> Path:
        """Create and save a checkpoint of ``simulator``; return its path."""
        return self.save_checkpoint(self.create_checkpoint(simulator, metadata, history=history))

    def _prune(self, simulator_id: str, keep: Path) -> None:
        files = self.list_checkpoints(simulator_id)
        assert self.keep_last is not None
        for info in files[: max(0, len(files) - self.keep_last)]:
            if info.path != keep:
                try:
                    info.path.unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise CheckpointError(f"cannot remove the old checkpoint {info.path}: {exc}") from None
        attached = self._journals.get(simulator_id)
        if attached is not None and attached[1].config.retention is not Retention.KEEP:
            self.compact_journal(simulator_id, attached[1].config.retention)

    def compact_journal(self, simulator_id: str, retention: Retention = Retention.ARCHIVE) -> list[Path]:
        """Archive (to ``archive/``) or delete journal segments wholly before the oldest kept checkpoint.

        Recovery needs only the journal after the latest checkpoint; this keeps
        everything from the segment the *oldest* checkpoint points into, so every
        kept checkpoint still recovers. Returns the segments moved or removed.
        """
        files = self.list_checkpoints(simulator_id)
        if not files:
            return []
        oldest = read_checkpoint_file(self._inside(files[0].path), max_bytes=self.max_file_bytes, key=self.key)
        if oldest.journal is None:
            return []
        return compact_segments(self.simulator_dir(simulator_id), oldest.journal.segment, retention)

    # ------------------------------------------------------------------ list / load
    def list_checkpoints(self, simulator_id: str) -> list[CheckpointInfo]:
        """Checkpoints of ``simulator_id``, oldest first ([] if none)."""
        folder = self.simulator_dir(simulator_id)
        try:
            names = sorted(os.listdir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise CheckpointError(f"{folder}: cannot list checkpoints: {exc}") from None
        out = []
        for name in names:
            if _FILE.fullmatch(name):
                stamp, sequence = name[:-5].rsplit("-", 1)
                ts = None if stamp == "start" else datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f")
                out.append(CheckpointInfo(folder / name, ts, int(sequence)))
        return out

    def latest_path(self, simulator_id: str) -> Path:
        """The newest checkpoint: the file ``LATEST`` names, or a newer one a crash left unnamed.

        Raises CheckpointError if there is none or ``LATEST`` is damaged.
        """
        folder = self.simulator_dir(simulator_id)
        files = self.list_checkpoints(simulator_id)
        pointer = folder / LATEST_NAME
        try:
            name = read_bytes(pointer, 200).decode("ascii").strip()
        except CheckpointError:
            if pointer.exists() or pointer.is_symlink():
                raise
            if files:  # a crash after the first checkpoint's rename, before LATEST was written
                return files[-1].path
            raise CheckpointError(f"no checkpoints for simulator {simulator_id!r} in {folder}") from None
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"{pointer}: unreadable pointer: {exc}") from None
        if not _FILE.fullmatch(name):
            raise CheckpointError(f"{pointer}: does not name a checkpoint file: {name[:60]!r}")
        named = folder / name
        newer = [i for i in files if (i.sequence, i.path.name) > (_sequence(name), name)]
        if newer:
            return newer[-1].path  # saved, then a crash before LATEST moved on
        if not any(i.path == named for i in files):
            raise CheckpointError(f"{pointer} names {name}, which does not exist")
        return named

    def load_checkpoint(self, simulator_id: str, timestamp: datetime | str | None = None) -> Checkpoint:
        """Load the latest checkpoint, or the newest one at ``timestamp`` (simulated time or file stem)."""
        if timestamp is None:
            path = self.latest_path(simulator_id)
        else:
            matches = [i.path for i in self.list_checkpoints(simulator_id)
                       if (i.path.stem == timestamp if isinstance(timestamp, str)
                           else i.timestamp == _name_time(timestamp))]
            if not matches:
                raise CheckpointError(f"no checkpoint of {simulator_id!r} at {timestamp}")
            path = matches[-1]
        checkpoint = self.read(path)
        if checkpoint.simulator_id != simulator_id:
            raise CheckpointError(f"{path}: holds simulator {checkpoint.simulator_id!r}, not {simulator_id!r}")
        return checkpoint

    def read(self, path: Path | str) -> Checkpoint:
        """Read and check the checkpoint file at ``path`` (inside ``base_dir``), no trial restore."""
        return read_checkpoint_file(self._inside(path), max_bytes=self.max_file_bytes, key=self.key)

    def verify(self, path: Path | str) -> Checkpoint:
        """Fully check the checkpoint at ``path`` (inside ``base_dir``), including a trial restore.

        Returns the checkpoint; raises CheckpointError naming the file and the problem.
        """
        resolved = self._inside(path)
        checkpoint = read_checkpoint_file(resolved, max_bytes=self.max_file_bytes, key=self.key)
        try:
            restore_simulator_state(checkpoint)
        except CheckpointError as exc:
            raise CheckpointError(f"{resolved}: {exc}") from None
        return checkpoint

    def restore_simulator(self, checkpoint: Checkpoint) -> ExecutionSimulator:
        """A new simulator in the checkpoint's state (reattach journals with :meth:`open_journal`)."""
        return restore_simulator_state(checkpoint)


def _sequence(name: str) -> int:
    return int(name[:-5].rsplit("-", 1)[1])


def _name_time(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def _file_name(checkpoint: Checkpoint) -> str:
    clock = decode_optional_datetime("timestamp", checkpoint.timestamp)
    stamp = "start" if clock is None else _name_time(clock).strftime("%Y%m%dT%H%M%S.%f")
    if clock is not None and not re.fullmatch(r"\d{8}T\d{6}\.\d{6}", stamp):
        stamp = "start"  # years before 1000 do not format to 4 digits everywhere
    return f"{stamp}-{checkpoint.counters.events:012d}.json"
