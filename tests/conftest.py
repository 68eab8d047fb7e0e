"""Shared pytest fixtures (factories for test data live in tests/factories.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def fast_dir() -> Iterator[Path]:
    """A folder in memory where the machine has one (crash tests kill many children), removed afterwards."""
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))
    yield root
    shutil.rmtree(root, ignore_errors=True)
