"""Crash recovery: the latest checkpoint plus the journal's tail.

The simulator is deterministic, so recovery restores the latest checkpoint
and returns, beside it, the events the journal holds after the checkpoint's
position: what had happened before the crash but after the checkpoint. The
restored simulator does not include those events' effects; the caller
re-feeds the inputs that came after the checkpoint (market data is
replayable; orders come from a strategy that sees the same data), and the
simulator re-emits exactly those events. Attach the journal with
``manager.open_journal(recovery.simulator, expect=recovery.tail)`` first: it
checks each re-emitted event against the journal instead of writing it
twice, so a divergence in the re-fed inputs is caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from finbot_bt.contracts.checkpoint import Checkpoint
from finbot_bt.contracts.events import ExecutionEvent
from finbot_bt.errors import CheckpointError
from finbot_bt.execution.checkpoint import CheckpointManager
from finbot_bt.execution.journal import JournalPosition, JournalRead, TornTail, read_tail
from finbot_bt.execution.simulator import ExecutionSimulator


@dataclass(frozen=True, slots=True)
class Recovery:
    """What :func:`recover` found.

    ``simulator`` is in the checkpoint's state; ``tail`` the journal read
    after the checkpoint's position (``tail.events`` happened before the crash
    but are not applied); ``torn`` a torn last journal line that was ignored.
    """

    simulator: ExecutionSimulator
    checkpoint: Checkpoint
    path: Path
    tail: JournalRead

    @property
    def events(self) -> tuple[ExecutionEvent, ...]:
        """Journaled events after the checkpoint, in order."""
        return self.tail.events

    @property
    def torn(self) -> TornTail | None:
        """The torn last journal line that was ignored, if any."""
        return self.tail.torn

    @property
    def last_sequence(self) -> int:
        """Sequence of the last durable event (checkpoint plus tail)."""
        return self.tail.end.sequence


def recover(base_dir: Path | str, simulator_id: str, *, manager: CheckpointManager | None = None) -> Recovery:
    """Restore the latest checkpoint of ``simulator_id`` and read the journal after it.

    Raises CheckpointError if there is no valid checkpoint or the journal is damaged
    (beyond a torn last line).
    """
    manager = manager if manager is not None else CheckpointManager(base_dir)
    path = manager.latest_path(simulator_id)
    checkpoint = manager.verify(path)
    simulator = manager.restore_simulator(checkpoint)
    return Recovery(simulator, checkpoint, path, journal_tail(manager, checkpoint, path))


def journal_tail(manager: CheckpointManager, checkpoint: Checkpoint, path: Path) -> JournalRead:
    """The journal after ``checkpoint``'s mark, across segments (checksums and sequence chain checked)."""
    mark = checkpoint.journal
    folder = manager.simulator_dir(checkpoint.simulator_id)
    if mark is None:
        tail = read_tail(folder, JournalPosition(checkpoint.counters.events, 0), key=manager.key)
        if tail.events:
            raise CheckpointError(f"{path}: records no journal position but {folder} holds a journal")
        return tail
    if mark.sequence != checkpoint.counters.events:
        raise CheckpointError(f"{path}: journal position {mark.sequence} differs from the event counter "
                              f"{checkpoint.counters.events}")
    return read_tail(folder, JournalPosition(mark.sequence, mark.offset, mark.segment), key=manager.key,
                     legacy_ok=not mark.summed)
