"""One journal line: an event's JSON with a ``sum`` field appended, and the segment files.

A line is the compact JSON of :func:`~finbot_bt.contracts.codec.encode_event`
with ``"sum"`` added as its last field: ``c`` plus 16 hex digits of the BLAKE2b
checksum of the line without that field, or ``h`` plus a keyed BLAKE2b seal
when a key is set (see :mod:`finbot_bt.execution.seal`). Lines written before
checksums existed have no ``sum``; they are accepted only where the
checkpoint's journal mark says so (``summed`` false) and never after a summed
line.

The journal is split into segments: ``journal.jsonl`` first, then
``journal-{first sequence:012d}.jsonl``. A segment is never renamed; the
writer starts a new one when the current one is larger than
``JournalConfig.segment_bytes``.
"""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path
from typing import Any

from finbot_bt.contracts.codec import decode_event, encode_event
from finbot_bt.contracts.events import ExecutionEvent
from finbot_bt.errors import CheckpointError, FinbotError
from finbot_bt.execution.seal import LINE_SUM_CHARS, line_sum

JOURNAL_NAME = "journal.jsonl"
"""File name of the first journal segment inside a simulator's checkpoint folder."""
_SUM_KEY = b',"sum":"'
_SUM_TAIL = len(_SUM_KEY) + LINE_SUM_CHARS + 3  # ,"sum":"x0123456789abcdef"}\n
_HEX = re.compile(rb"[ch][0-9a-f]{16}")


def encode_line(event: ExecutionEvent, key: bytes | None) -> bytes:
    """The journal line of ``event`` (with its ``sum``)."""
    body = json.dumps(encode_event(event), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
    return body[:-1] + _SUM_KEY + line_sum(body, key) + b'"}\n'


def parse_line(path: Path, line: bytes, end: int, key: bytes | None,
               legacy_ok: bool) -> tuple[dict[str, Any], ExecutionEvent, bool]:
    """Check and decode one complete line; return ``(raw event dict, event, summed)``.

    ``legacy_ok`` allows a line without ``sum``. Raises CheckpointError naming the byte offset.
    """
    where = f"{path}: journal line ending at byte {end}"
    body, found = _split(line)
    if found is None:
        if not legacy_ok:
            raise CheckpointError(f"{where} has no checksum (edited, or written by an older version "
                                  "after a checksummed line)")
    elif found[:1] == b"h" and key is None:
        raise CheckpointError(f"{where} is sealed with a key; set FINBOT_BT_CHECKPOINT_KEY (or pass key=)")
    elif found[:1] == b"c" and key is not None:
        raise CheckpointError(f"{where} is not sealed but a key is set: it was not written with this key")
    elif line_sum(body, key) != found:
        what = "seal" if key is not None else "checksum"
        raise CheckpointError(f"{where}: {what} mismatch: the line was modified or damaged")
    try:
        raw = json.loads(body, parse_constant=_refuse_constant)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        return raw, decode_event(raw), found is not None
    except (ValueError, RecursionError, FinbotError, TypeError, KeyError) as exc:
        raise CheckpointError(f"{where} is damaged: {exc}") from None


def _split(line: bytes) -> tuple[bytes, bytes | None]:
    stripped = line[:-1] if line.endswith(b"\n") else line
    if len(line) > _SUM_TAIL and line.endswith(b'"}\n'):
        start = len(line) - _SUM_TAIL
        if line[start:start + len(_SUM_KEY)] == _SUM_KEY:
            found = line[start + len(_SUM_KEY):len(line) - 3]
            if _HEX.fullmatch(found):
                return line[:start] + b"}", found
    return stripped, None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


# ---------------------------------------------------------------------- segments
def segment_name(base: str, first_sequence: int) -> str:
    """Name of the segment of ``base`` (``journal.jsonl``) whose first event is ``first_sequence``."""
    stem, dot, suffix = base.rpartition(".")
    return f"{stem}-{first_sequence:012d}.{suffix}" if dot else f"{base}-{first_sequence:012d}"


def segment_first(base: str, name: str) -> int | None:
    """First sequence encoded in a segment name (0 for ``base`` itself, None if not a segment)."""
    if name == base:
        return 0
    stem, dot, suffix = base.rpartition(".")
    pattern = rf"{re.escape(stem)}-(\d{{12,20}})\.{re.escape(suffix)}" if dot else rf"{re.escape(base)}-(\d{{12,20}})"
    match = re.fullmatch(pattern, name)
    return None if match is None else int(match.group(1))


def list_segments(folder: Path, base: str = JOURNAL_NAME) -> list[Path]:
    """The journal segments in ``folder``, oldest first (CheckpointError for a symlinked one)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CheckpointError(f"{folder}: cannot list the journal: {exc}") from None
    found = sorted((first, name) for name in names if (first := segment_first(base, name)) is not None)
    out = []
    for _, name in found:
        path = folder / name
        if path.is_symlink():
            raise CheckpointError(f"{path} is a symlink; journal segments must be plain files in the folder")
        out.append(path)
    return out


def open_no_follow(path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that refuses a symlink (CheckpointError) and turns OSError into CheckpointError."""
    try:
        return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise CheckpointError(f"{path} is a symlink; checkpoint files must be plain files") from None
        if isinstance(exc, FileNotFoundError):
            raise
        raise CheckpointError(f"{path}: {exc.strerror or exc}") from None
