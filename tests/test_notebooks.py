"""Every notebook in notebooks/ is stored without outputs and executes without error (nbclient)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
TIMEOUT = 120


def test_notebooks_when_listed_then_the_four_guides_exist() -> None:
    assert [p.stem for p in NOTEBOOKS] == ["01_quickstart", "02_latency_and_fills", "03_risk_controls",
                                           "04_checkpoint_and_resume"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_when_stored_then_has_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


def _execute(path: Path, workdir: Path) -> Any:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        return exc
    return notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # One kernel per notebook, all at once: the kernels are separate processes.
    with ThreadPoolExecutor(max_workers=len(NOTEBOOKS)) as pool:
        futures = {p.stem: pool.submit(_execute, p, tmp_path_factory.mktemp(p.stem)) for p in NOTEBOOKS}
        return {stem: future.result() for stem, future in futures.items()}


def _text(notebook: Any) -> str:
    return "\n".join(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
                     for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)


@pytest.mark.parametrize(("stem", "expected"), [
    ("01_quickstart", "report.html"),
    ("02_latency_and_fills", "image/png"),
    ("03_risk_controls", "risk_trading_disabled"),
    ("04_checkpoint_and_resume", "1 ok, 0 failed"),
], ids=["quickstart", "latency", "risk", "checkpoint"])
def test_notebook_when_executed_then_runs_without_error(stem: str, expected: str, executed: dict[str, Any]) -> None:
    notebook = executed[stem]
    assert not isinstance(notebook, Exception), str(notebook)[-3000:]
    shown = _text(notebook) + str([o.get("data", {}).keys() for c in notebook.cells if c.cell_type == "code"
                                   for o in c.outputs])
    assert expected in shown
