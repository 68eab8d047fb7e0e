"""Checksums and seals of checkpoint files and journal lines.

Without a key, a checkpoint carries the SHA-256 of its body and each journal
line a BLAKE2b checksum: both catch damage, neither stops an editor who
recomputes them. With a key (the ``key`` argument or the environment
variable ``FINBOT_BT_CHECKPOINT_KEY``) they become seals an editor without
the key cannot forge: HMAC-SHA256 over the checkpoint body and keyed BLAKE2b
over each journal line. A sealed file read without the key, or an unsealed
one read with a key, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from finbot_bt.errors import CheckpointError

KEY_VARIABLE = "FINBOT_BT_CHECKPOINT_KEY"
"""Environment variable holding the sealing key (used when no key is passed)."""
LINE_SUM_CHARS = 17
"""Length of a journal line's ``sum``: ``c`` (checksum) or ``h`` (keyed seal), then 16 hex digits."""


def resolve_key(key: bytes | str | None = None) -> bytes | None:
    """The sealing key: ``key`` if given, else ``FINBOT_BT_CHECKPOINT_KEY``, else None (no seal)."""
    if key is None:
        key = os.environ.get(KEY_VARIABLE) or None
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or not 1 <= len(key) <= 64:
        raise CheckpointError(f"a checkpoint key must be 1 to 64 bytes (str or bytes), got {len(key)} bytes")
    return key


def body_seal(canonical: bytes, key: bytes) -> str:
    """HMAC-SHA256 of a checkpoint body's canonical JSON (hex)."""
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def seal_matches(canonical: bytes, key: bytes, seal: object) -> bool:
    """Constant-time check of a checkpoint seal."""
    return isinstance(seal, str) and hmac.compare_digest(body_seal(canonical, key), seal)


def line_sum(body: bytes, key: bytes | None) -> bytes:
    """The ``sum`` of a journal line's JSON (without its ``sum`` field)."""
    if key is None:
        return b"c" + hashlib.blake2b(body, digest_size=8).hexdigest().encode("ascii")
    return b"h" + hashlib.blake2b(body, digest_size=8, key=key).hexdigest().encode("ascii")
