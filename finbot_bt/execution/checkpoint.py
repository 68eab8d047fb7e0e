"""Checkpoint manager: atomic, hashed, versioned JSON checkpoints of a simulator.

Layout under ``base_dir``::

    {simulator_id}/{clock}-{event sequence}.json   one checkpoint per file
    {simulator_id}/LATEST                          name of the newest saved file
    {simulator_id}/journal.jsonl                   the event journal (see journal.py)

File names use the *simulated* clock (``20240102T160000.000000`` in UTC for
aware clocks, ``start`` before the first input) and the event sequence, so
they sort in simulation order. Writes go to a temporary file in the same
folder, are fsynced, renamed over the target with ``os.replace`` and the
folder is fsynced: a crash leaves the previous checkpoint intact and never a
torn file. ``LATEST`` is replaced the same way.

Loading is JSON only (never pickle), refuses files larger than
``max_file_bytes``, duplicate keys, NaN/Infinity and out-of-range numbers,
checks the envelope, migrates older versions, checks the content hash and
validates the schema; every failure is a CheckpointError naming the file.
``simulator_id`` must be a plain name; nothing outside ``base_dir`` is read
or written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finbot_bt.contracts.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    SIMULATOR_ID_PATTERN,
    Checkpoint,
    canonical_json,
)
from finbot_bt.contracts.codec import decode_optional_datetime
from finbot_bt.errors import CheckpointError, ContractError
from finbot_bt.execution.journal import JOURNAL_NAME, JournalConfig, JournalRead, JournalWriter
from finbot_bt.execution.migrations import LEGACY_VERSION, migrate
from finbot_bt.execution.simulator import ExecutionSimulator
from finbot_bt.execution.snapshot import restore_simulator_state, snapshot_simulator, validate_body

LATEST_NAME = "LATEST"
"""Pointer file holding the name of the newest saved checkpoint."""
MAX_FILE_BYTES = 256 * 1024 * 1024
_FILE = re.compile(r"(?:start|\d{8}T\d{6}\.\d{6})-\d{12,20}\.json")
_ENVELOPE_KEYS = {"format", "version", "sha256", "body"}


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
    """

    def __init__(self, base_dir: Path | str, keep_last: int | None = None,
                 *, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 1):
            raise CheckpointError(f"keep_last must be None or an int >= 1, got {keep_last!r}")
        self.base_dir = Path(base_dir).resolve()
        self.keep_last = keep_last
        self.max_file_bytes = max_file_bytes
        self._journals: dict[str, tuple[ExecutionSimulator, JournalWriter]] = {}
        try:
            self.base_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"cannot create checkpoint folder {self.base_dir}: {exc}") from None

    # ------------------------------------------------------------------ paths
    def simulator_dir(self, simulator_id: str) -> Path:
        """Folder of ``simulator_id`` (refuses ids that are not plain names)."""
        if not isinstance(simulator_id, str) or not re.fullmatch(SIMULATOR_ID_PATTERN, simulator_id):
            raise CheckpointError(f"simulator_id must be a plain name (no path separators, no leading dot), "
                                  f"got {simulator_id!r}")
        path = self.base_dir / simulator_id
        if path.is_symlink() or path.resolve().parent != self.base_dir:
            raise CheckpointError(f"{path} leaves the checkpoint folder {self.base_dir}")
        return path

    def journal_path(self, simulator_id: str) -> Path:
        """Path of the journal of ``simulator_id``."""
        return self.simulator_dir(simulator_id) / JOURNAL_NAME

    def _inside(self, path: Path | str) -> Path:
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.base_dir):
            raise CheckpointError(f"{path} is outside the checkpoint folder {self.base_dir}")
        return resolved

    # ------------------------------------------------------------------ journal
    def open_journal(self, simulator: ExecutionSimulator, config: JournalConfig | None = None,
                     *, expect: JournalRead | None = None) -> JournalWriter:
        """Attach the journal of ``simulator.simulator_id`` to ``simulator``.

        ``expect`` is the journal tail from :func:`~finbot_bt.execution.recovery.recover`:
        those events are checked, not written again, when the restored simulator re-emits them.
        """
        folder = self.simulator_dir(simulator.simulator_id)
        folder.mkdir(exist_ok=True)
        previous = self._journals.pop(simulator.simulator_id, None)
        if previous is not None:
            previous[1].close()
        writer = JournalWriter(folder / JOURNAL_NAME, config)
        if expect is not None:
            writer.expect(expect)
        writer.attach(simulator)
        self._journals[simulator.simulator_id] = (simulator, writer)
        return writer

    def close(self) -> None:
        """Flush and close every journal opened by this manager."""
        for _, writer in self._journals.values():
            writer.close()
        self._journals.clear()

    # ------------------------------------------------------------------ create / save
    def create_checkpoint(self, simulator: ExecutionSimulator,
                          metadata: Mapping[str, Any] | None = None) -> Checkpoint:
        """Snapshot ``simulator`` (flushing its journal first and recording its position)."""
        position = None
        attached = self._journals.get(simulator.simulator_id)
        if attached is not None and attached[0] is simulator:
            writer = attached[1]
            writer.flush()
            if writer.position.sequence != simulator._event_sequence:
                raise CheckpointError(f"journal {writer.path} is at event {writer.position.sequence}, "
                                      f"the simulator at {simulator._event_sequence}")
            position = {"sequence": writer.position.sequence, "offset": writer.position.offset}
        body = snapshot_simulator(simulator, journal=position, metadata=metadata)
        return validate_body(body)

    def save_checkpoint(self, checkpoint: Checkpoint) -> Path:
        """Write ``checkpoint`` atomically, update ``LATEST``, apply retention; return its path."""
        folder = self.simulator_dir(checkpoint.simulator_id)
        body = checkpoint.model_dump(mode="json")
        digest = hashlib.sha256(canonical_json(body)).hexdigest()
        envelope = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "sha256": digest, "body": body}
        data = _readable_json(envelope)
        path = folder / _file_name(checkpoint)
        try:
            folder.mkdir(exist_ok=True)
            atomic_write(path, data)
            atomic_write(folder / LATEST_NAME, path.name.encode("ascii") + b"\n")
        except OSError as exc:
            raise CheckpointError(f"cannot write checkpoint {path}: {exc}") from None
        if self.keep_last is not None:
            self._prune(checkpoint.simulator_id, keep=path)
        return path

    def checkpoint(self, simulator: ExecutionSimulator, metadata: Mapping[str, Any] | None = None) -> Path:
        """Create and save a checkpoint of ``simulator``; return its path."""
        return self.save_checkpoint(self.create_checkpoint(simulator, metadata))

    def _prune(self, simulator_id: str, keep: Path) -> None:
        files = self.list_checkpoints(simulator_id)
        assert self.keep_last is not None
        for info in files[: max(0, len(files) - self.keep_last)]:
            if info.path != keep:
                with contextlib.suppress(FileNotFoundError):
                    info.path.unlink()

    # ------------------------------------------------------------------ list / load
    def list_checkpoints(self, simulator_id: str) -> list[CheckpointInfo]:
        """Checkpoints of ``simulator_id``, oldest first ([] if none)."""
        folder = self.simulator_dir(simulator_id)
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.iterdir()):
            if _FILE.fullmatch(path.name) and path.is_file():
                stamp, sequence = path.stem.rsplit("-", 1)
                ts = None if stamp == "start" else datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f")
                out.append(CheckpointInfo(path, ts, int(sequence)))
        return out

    def latest_path(self, simulator_id: str) -> Path:
        """Path named by ``LATEST`` (CheckpointError if there is none)."""
        folder = self.simulator_dir(simulator_id)
        pointer = folder / LATEST_NAME
        try:
            name = pointer.read_bytes()[:200].decode("ascii").strip()
        except FileNotFoundError:
            raise CheckpointError(f"no checkpoints for simulator {simulator_id!r} in {folder}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{pointer}: unreadable pointer: {exc}") from None
        if not _FILE.fullmatch(name):
            raise CheckpointError(f"{pointer}: does not name a checkpoint file: {name[:60]!r}")
        return folder / name

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
        checkpoint = read_checkpoint_file(self._inside(path), max_bytes=self.max_file_bytes)
        if checkpoint.simulator_id != simulator_id:
            raise CheckpointError(f"{path}: holds simulator {checkpoint.simulator_id!r}, not {simulator_id!r}")
        return checkpoint

    def verify(self, path: Path | str) -> Checkpoint:
        """Fully check the checkpoint at ``path`` (inside ``base_dir``), including a trial restore.

        Returns the checkpoint; raises CheckpointError naming the file and the problem.
        """
        resolved = self._inside(path)
        checkpoint = read_checkpoint_file(resolved, max_bytes=self.max_file_bytes)
        try:
            restore_simulator_state(checkpoint)
        except CheckpointError as exc:
            raise CheckpointError(f"{resolved}: {exc}") from None
        return checkpoint

    def restore_simulator(self, checkpoint: Checkpoint) -> ExecutionSimulator:
        """A new simulator in the checkpoint's state (reattach journals with :meth:`open_journal`)."""
        return restore_simulator_state(checkpoint)


# ---------------------------------------------------------------------- files
def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a torn one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _readable_json(envelope: dict[str, Any]) -> bytes:
    # One body section a line and one list item a line: readable and diffable, and
    # fast (json.dumps with indent falls back to the pure-Python encoder).
    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    def section(key: str, value: Any) -> str:
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return f" {dump(key)}: [\n  " + ",\n  ".join(dump(v) for v in value) + "\n ]"
        if isinstance(value, dict) and key == "queue":
            return f" {dump(key)}: {{\"next_sequence\": {value['next_sequence']}, \"actions\": [\n  " + \
                ",\n  ".join(dump(v) for v in value["actions"]) + "\n ]}"
        return f" {dump(key)}: {dump(value)}"

    head = {k: v for k, v in envelope.items() if k != "body"}
    body = ",\n".join(section(k, v) for k, v in envelope["body"].items())
    text = dump(head)[:-1] + ', "body": {\n' + body + "\n}}\n"
    return text.encode("utf-8")


def _fsync_dir(folder: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return  # platforms without directory handles (Windows)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _name_time(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def _file_name(checkpoint: Checkpoint) -> str:
    clock = decode_optional_datetime("timestamp", checkpoint.timestamp)
    stamp = "start" if clock is None else _name_time(clock).strftime("%Y%m%dT%H%M%S.%f")
    if clock is not None and not re.fullmatch(r"\d{8}T\d{6}\.\d{6}", stamp):
        stamp = "start"  # years before 1000 do not format to 4 digits everywhere
    return f"{stamp}-{checkpoint.counters.events:012d}.json"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    # JSON numbers with a fraction are never money here (money is stored as strings): they are the
    # RNG's gauss_next and the Backtrader-side floats of the broker metadata. Refuse overflow to inf.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:30]} is out of range")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def read_checkpoint_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> Checkpoint:
    """Parse, migrate, hash-check and validate one checkpoint file (CheckpointError on any problem)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read: {exc}") from None
    if len(raw) > max_bytes:
        raise CheckpointError(f"{path}: larger than {max_bytes} bytes")
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                              parse_float=_finite_float, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: not valid checkpoint JSON (truncated or damaged?): {exc}") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: a checkpoint must be a JSON object")
    try:
        body = _body_of(path, document)
        checkpoint = Checkpoint.model_validate(body)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except (ContractError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: does not match the checkpoint schema: {_short_error(exc)}") from None
    return checkpoint


def _short_error(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 600 else text[:600] + "..."


def _body_of(path: Path, document: dict[str, Any]) -> dict[str, Any]:
    if document.get("version") == LEGACY_VERSION and "format" not in document:
        return migrate(document, 1, CHECKPOINT_VERSION)
    if set(document) != _ENVELOPE_KEYS or document["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"not a finbot_bt checkpoint (expected keys {sorted(_ENVELOPE_KEYS)} "
                              f"and format {CHECKPOINT_FORMAT!r})")
    version, body, digest = document["version"], document["body"], document["sha256"]
    if not isinstance(version, int) or isinstance(version, bool) or not isinstance(body, dict):
        raise CheckpointError("envelope version must be an int and body an object")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(f"checkpoint version {version} was written by a newer finbot_bt "
                              f"(this one reads up to {CHECKPOINT_VERSION})")
    if version < 1:
        raise CheckpointError(f"unknown checkpoint version {version}")
    actual = hashlib.sha256(canonical_json(body)).hexdigest()
    if digest != actual:
        raise CheckpointError(f"content hash mismatch (file says {str(digest)[:16]}..., content is "
                              f"{actual[:16]}...): the file was modified or damaged")
    if body.get("version") != version:
        raise CheckpointError(f"body version {body.get('version')!r} differs from envelope version {version}")
    return migrate(body, version, CHECKPOINT_VERSION)
