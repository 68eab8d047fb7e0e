"""One writer per session: an exclusive OS file lock on ``{simulator folder}/LOCK``.

The lock is ``fcntl.flock`` on an open file, so the operating system releases it
when the holder exits or dies: a crash never leaves a stale lock. The holder
writes its process id, host and start time into the file; a second process
gets a CheckpointError naming them. On platforms without ``fcntl`` (Windows)
the lock is a no-op and says so in :attr:`SessionLock.enforced`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import weakref
from pathlib import Path

from finbot_bt.errors import CheckpointError
from finbot_bt.execution.journal_lines import open_no_follow

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "LOCK"
"""Lock file inside a simulator's checkpoint folder."""


class SessionLock:
    """Exclusive lock on the session in ``folder`` (acquire on construction, :meth:`release` to free)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self.enforced = fcntl is not None
        self._fd = -1
        try:
            fd = open_no_follow(self.path, os.O_RDWR | os.O_CREAT)
        except FileNotFoundError as exc:
            raise CheckpointError(f"{self.path}: cannot create the session lock: {exc}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                if holder.startswith(f"pid {os.getpid()} "):
                    holder += ": this process, in a run that has not stopped (or a second broker)"
                raise CheckpointError(
                    f"session {folder.name!r} in {folder.parent} is in use by another process ({holder}); "
                    "one process at a time may write a simulator's checkpoints and journal"
                ) from None
            except OSError as exc:
                os.close(fd)
                raise CheckpointError(f"{self.path}: cannot lock the session: {exc}") from None
        self._fd = fd
        # A run that raised never stops its broker: free the lock when the broker is garbage-collected.
        self._box = [fd]
        self._finalizer = weakref.finalize(self, _close_box, self._box)
        stamp = f"pid {os.getpid()} on {socket.gethostname()}\n".encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, stamp, 0)
        except OSError as exc:
            self.release()
            raise CheckpointError(f"{self.path}: cannot write the session lock: {exc}") from None

    @property
    def held(self) -> bool:
        """True until :meth:`release`."""
        return self._fd >= 0

    def release(self) -> None:
        """Free the lock (idempotent)."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        _close_box(self._box)  # closing the descriptor releases the flock
        self._fd = -1


def _close_box(box: list[int]) -> None:
    fd, box[0] = box[0], -1
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "pid not yet recorded"
