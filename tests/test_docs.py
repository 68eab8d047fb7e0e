"""Every public name is documented, and the rendered API page is current."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import gen_api  # noqa: E402


@pytest.mark.parametrize("module_name", gen_api.MODULES)
def test_docs_when_public_name_then_it_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__, f"{module_name} has no module docstring"
    missing = []
    for name in gen_api.public_names(module):
        obj = getattr(module, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj):
            missing.append(name)
    assert missing == [], f"{module_name}: undocumented public names {missing}"


def test_docs_when_api_page_generated_then_it_matches_the_committed_one() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_api.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
