"""Checkpoint files: atomic writes, the envelope (hash or seal), and strict reading.

Writes go to a temporary file ``.{name}.*.tmp`` in the same folder, are
fsynced, renamed over the target with ``os.replace`` and the folder is
fsynced: a crash leaves the previous file intact and never a torn one (it may
leave a temporary file, which :func:`remove_orphans` deletes).

Reading is JSON only (never pickle), refuses symlinks, files larger than
``max_bytes``, duplicate keys, NaN/Infinity and out-of-range numbers and
nesting too deep for the parser; checks the envelope and the hash (or the
HMAC seal with a key), migrates older versions, validates the schema and then
the content (see :mod:`finbot_bt.execution.checkpoint_checks`). Every failure
is a CheckpointError naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from finbot_bt.contracts.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, Checkpoint, canonical_json
from finbot_bt.errors import CheckpointError, ContractError
from finbot_bt.execution.checkpoint_checks import check_content
from finbot_bt.execution.journal_lines import open_no_follow
from finbot_bt.execution.migrations import LEGACY_VERSION, migrate
from finbot_bt.execution.seal import body_seal, seal_matches

MAX_FILE_BYTES = 256 * 1024 * 1024
"""Checkpoint files larger than this are refused."""
_ENVELOPE_KEYS = {"format", "version", "sha256", "body"}
_SEAL_KEY = "hmac_sha256"
_TEMP = re.compile(r"\..+\.[A-Za-z0-9_]{6,}\.tmp")


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
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """fsync a folder (its entries), where the platform allows it."""
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


def remove_orphans(folder: Path) -> list[Path]:
    """Delete temporary files left by writes a crash interrupted; return them.

    Call it only while holding the session lock: another writer's temporary files are not orphans.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CheckpointError(f"{folder}: cannot list: {exc}") from None
    for name in names:
        path = folder / name
        if _TEMP.fullmatch(name) and not path.is_symlink() and path.is_file():
            try:
                path.unlink()
            except OSError as exc:
                raise CheckpointError(f"{path}: cannot remove a leftover temporary file: {exc}") from None
            removed.append(path)
    return removed


def envelope_bytes(body: dict[str, Any], key: bytes | None) -> bytes:
    """The file content of a checkpoint body: envelope with hash (and seal with a key)."""
    canonical = canonical_json(body)
    envelope: dict[str, Any] = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                                "sha256": hashlib.sha256(canonical).hexdigest()}
    if key is not None:
        envelope[_SEAL_KEY] = body_seal(canonical, key)
    envelope["body"] = body
    return _readable_json(envelope)


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


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a small file without following a symlink (CheckpointError on any problem)."""
    try:
        fd = open_no_follow(path, os.O_RDONLY)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not found") from None
    try:
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read: {exc}") from None
    if len(raw) > max_bytes:
        raise CheckpointError(f"{path}: larger than {max_bytes} bytes")
    return raw


def read_checkpoint_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES, key: bytes | None = None) -> Checkpoint:
    """Parse, hash- or seal-check, migrate, validate and check one checkpoint file."""
    raw = read_bytes(path, max_bytes)
    try:
        return _parse(path, raw, key)
    except RecursionError:
        raise CheckpointError(f"{path}: nested too deeply to be a checkpoint") from None


def _parse(path: Path, raw: bytes, key: bytes | None) -> Checkpoint:
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                              parse_float=_finite_float, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: not valid checkpoint JSON (truncated or damaged?): {exc}") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: a checkpoint must be a JSON object")
    try:
        body = _body_of(document, key)
        checkpoint = Checkpoint.model_validate(body)
        check_content(checkpoint)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except (ContractError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: does not match the checkpoint schema: {_short_error(exc)}") from None
    return checkpoint


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
    for name, value in pairs:
        if name in out:
            raise ValueError(f"duplicate key {name!r}")
        out[name] = value
    return out


def _short_error(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 600 else text[:600] + "..."


def _body_of(document: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    if document.get("version") == LEGACY_VERSION and "format" not in document:
        if key is not None:
            raise CheckpointError("a finbot 1.0.0 checkpoint carries no seal but a key is set")
        return migrate(document, 1, CHECKPOINT_VERSION)
    keys = set(document)
    if keys - {_SEAL_KEY} != _ENVELOPE_KEYS or document["format"] != CHECKPOINT_FORMAT:
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
    canonical = canonical_json(body)
    actual = hashlib.sha256(canonical).hexdigest()
    if digest != actual:
        raise CheckpointError(f"content hash mismatch (file says {str(digest)[:16]}..., content is "
                              f"{actual[:16]}...): the file was modified or damaged")
    sealed = _SEAL_KEY in document
    if sealed and key is None:
        raise CheckpointError("the checkpoint is sealed with a key; set FINBOT_BT_CHECKPOINT_KEY (or pass key=)")
    if key is not None and not sealed:
        raise CheckpointError("the checkpoint carries no seal but a key is set: it was not written with this key")
    if key is not None and not seal_matches(canonical, key, document[_SEAL_KEY]):
        raise CheckpointError("seal mismatch: the file was modified, or sealed with another key")
    if body.get("version") != version:
        raise CheckpointError(f"body version {body.get('version')!r} differs from envelope version {version}")
    return migrate(body, version, CHECKPOINT_VERSION)
