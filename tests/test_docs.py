"""Every public name is documented, the API pages cover the public modules, and the site builds strictly."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API_TARGET = re.compile(r"^::: ([\w.]+)\s*$", re.M)

MODULES = [
    "finbot_bt",
    "finbot_bt.errors",
    "finbot_bt.contracts",
    "finbot_bt.contracts.risk",
    "finbot_bt.contracts.checkpoint",
    "finbot_bt.execution",
    "finbot_bt.execution.checkpoint",
    "finbot_bt.execution.journal",
    "finbot_bt.execution.recovery",
    "finbot_bt.execution.journal_writer",
    "finbot_bt.execution.seal",
    "finbot_bt.execution.session_lock",
    "finbot_bt.broker.frames",
    "finbot_bt.broker.state_schema",
    "finbot_bt.broker",
    "finbot_bt.reports",
    "finbot_bt.reports.performance",
    "finbot_bt.runner.summary",
    "finbot_bt.sweep",
    "finbot_bt.sweep.grid",
]
"""Modules whose public names users call; each must be rendered on an API page."""


def _public_names(module: object) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and getattr(v, "__module__", None) == getattr(module, "__name__", None)
                 and (inspect.isclass(v) or inspect.isfunction(v))]
    return sorted(n for n in names if not n.startswith("__"))


def _api_targets() -> set[str]:
    return {target for page in (DOCS / "api").glob("*.md") for target in API_TARGET.findall(page.read_text())}


@pytest.mark.parametrize("module_name", MODULES)
def test_docs_when_public_name_then_it_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__, f"{module_name} has no module docstring"
    missing = []
    for name in _public_names(module):
        obj = getattr(module, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj):
            missing.append(name)
    assert missing == [], f"{module_name}: undocumented public names {missing}"


def test_docs_when_api_pages_read_then_every_public_module_rendered_and_importable() -> None:
    targets = _api_targets()
    assert set(MODULES) <= targets, f"not on any API page: {sorted(set(MODULES) - targets)}"
    for target in sorted(targets):
        importlib.import_module(target)


def test_docs_when_site_built_strictly_then_every_page_and_api_object_rendered(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("index", "reports/index", "sweep-grid/index", "reference/index", "differences/index"):
        assert (tmp_path / f"{page}.html").is_file(), page
    reports = (tmp_path / "api" / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'id="finbot_bt.reports.performance.sharpe_ratio"' in reports
    assert "mean(r) / std(r, ddof=1) * sqrt(periods)" in reports  # the docstring's formula, rendered
    assert ":class:<code>" not in reports and ":mod:<code>" not in reports  # Sphinx roles cleaned by the hook
    grid = (tmp_path / "sweep-grid" / "index.html").read_text(encoding="utf-8")
    assert "[[strategies]]" in grid and "bundled:synthetic_daily.csv" in grid


def test_docs_when_sphinx_roles_in_rendered_html_then_hook_keeps_only_the_name() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import mkdocs_hooks
    finally:
        sys.path.remove(str(ROOT / "tools"))
    html = "see :class:<code>~matplotlib.figure.Figure</code> and :mod:<code>finbot_bt.cli</code>; a:b <code>x</code>"
    assert mkdocs_hooks.strip_roles(html) == (
        "see <code>Figure</code> and <code>finbot_bt.cli</code>; a:b <code>x</code>")
