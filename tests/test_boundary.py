"""Layer boundary: the core never imports backtrader, the global random module or the wall clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import finbot_bt

PACKAGE = Path(finbot_bt.__file__).parent
CORE_FILES = sorted(
    path for layer in ("contracts", "execution") for path in (PACKAGE / layer).rglob("*.py")
)
CORE_IDS = [str(p.relative_to(PACKAGE)) for p in CORE_FILES]
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "perf_counter")}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported_modules(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.add(node.module)
    return names


def _dotted(node: ast.expr) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def test_core_when_listed_then_both_layers_have_modules() -> None:
    assert any(p.parent.name == "contracts" for p in CORE_FILES)
    assert any(p.name == "simulator.py" for p in CORE_FILES)


@pytest.mark.parametrize("path", CORE_FILES, ids=CORE_IDS)
def test_core_module_when_parsed_then_never_imports_backtrader(path: Path) -> None:
    offenders = {m for m in _imported_modules(_tree(path))
                 if m.split(".")[0] == "backtrader" or m.startswith("finbot_bt.broker")}
    assert offenders == set(), f"{path.name} imports {offenders}"


@pytest.mark.parametrize("path", CORE_FILES, ids=CORE_IDS)
def test_core_module_when_parsed_then_no_global_random(path: Path) -> None:
    tree = _tree(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "random":
            assert {a.name for a in node.names} <= {"Random"}, f"{path.name}: from random import ..."
        if isinstance(node, ast.Call):
            dotted = _dotted(node.func)
            if len(dotted) == 2 and dotted[0] == "random":
                assert dotted[1] == "Random", f"{path.name}:{node.lineno} calls random.{dotted[1]}()"


@pytest.mark.parametrize("path", CORE_FILES, ids=CORE_IDS)
def test_core_module_when_parsed_then_no_wall_clock(path: Path) -> None:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            dotted = _dotted(node.func)
            assert dotted[-2:] not in WALL_CLOCK, f"{path.name}:{node.lineno} reads the clock via {'.'.join(dotted)}"
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            assert not {a.name for a in node.names} & {"time", "time_ns", "monotonic", "perf_counter"}


def test_execution_when_imported_in_fresh_interpreter_then_backtrader_not_loaded() -> None:
    code = "import finbot_bt.execution, finbot_bt.contracts, sys; assert 'backtrader' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_boundary_checks_when_given_offending_source_then_detect_it() -> None:
    bad = ast.parse("import backtrader as bt\nimport random\nx = random.random()\n"
                    "from datetime import datetime\nt = datetime.now()\n")
    assert "backtrader" in _imported_modules(bad)
    calls = [_dotted(n.func) for n in ast.walk(bad) if isinstance(n, ast.Call)]
    assert ("random", "random") in calls and ("datetime", "now") in calls


def test_package_when_parsed_then_only_the_broker_package_imports_backtrader() -> None:
    # Runner, sweeps, reports and the CLI reach Backtrader through finbot_bt.broker (engine,
    # strategies, progress); only the broker package names it.
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(m for m in _imported_modules(_tree(path)) if m.split(".")[0] == "backtrader")
        for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] != "broker"
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert any("backtrader" in _imported_modules(_tree(p)) for p in (PACKAGE / "broker").glob("*.py"))


def test_package_when_scanned_then_one_run_function_one_strategy_loader_and_no_shim_modules() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    defined: dict[str, list[str]] = {}
    for path in files:
        for node in _tree(path).body:
            if isinstance(node, ast.FunctionDef) and node.name in ("run_backtest", "load_strategy"):
                defined.setdefault(node.name, []).append(str(path.relative_to(PACKAGE)))
    assert defined == {"run_backtest": ["runner/backtest.py"], "load_strategy": ["runner/loader.py"]}
    assert [str(p.relative_to(PACKAGE)) for p in files if p.name == "strategies.py"] == ["broker/strategies.py"]
    for path in files:  # a module that only re-exports names is a shim: import from the home instead
        body = [node for node in _tree(path).body
                if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
        only_imports = all(isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign)) for node in body)
        if path.name != "__init__.py" and body:
            assert not only_imports, f"{path.relative_to(PACKAGE)} only re-exports"


def test_layers_when_imported_then_checkpoint_names_re_exported_from_their_layer() -> None:
    from finbot_bt.contracts import CHECKPOINT_VERSION
    from finbot_bt.contracts.checkpoint import CHECKPOINT_VERSION as home_version
    from finbot_bt.execution import CheckpointManager
    from finbot_bt.execution.checkpoint import CheckpointManager as home_manager

    assert CheckpointManager is home_manager
    assert home_version == CHECKPOINT_VERSION


def _broker_import_graph() -> dict[str, set[str]]:
    # Every import of a sibling module, TYPE_CHECKING blocks and function bodies included.
    graph: dict[str, set[str]] = {}
    for path in sorted((PACKAGE / "broker").glob("*.py")):
        module = f"finbot_bt.broker.{path.stem}"
        siblings = {m for m in _imported_modules(_tree(path)) if m.startswith("finbot_bt.broker.")}
        for node in ast.walk(_tree(path)):  # ``from finbot_bt.broker import frames``
            if isinstance(node, ast.ImportFrom) and node.module == "finbot_bt.broker":
                siblings.update(f"finbot_bt.broker.{alias.name}" for alias in node.names)
        graph[module] = {m for m in siblings if (PACKAGE / "broker" / f"{m.rsplit('.', 1)[1]}.py").exists()}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            found = visit(target, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


def test_broker_package_when_imports_are_parsed_then_no_module_imports_another_in_a_cycle() -> None:
    graph = _broker_import_graph()
    assert "finbot_bt.broker.orders" in graph["finbot_bt.broker.delivery"]  # the graph is read
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    importers = sorted(m for m, targets in graph.items() if "finbot_bt.broker.broker" in targets)
    assert importers == ["finbot_bt.broker.__init__"]


def test_cycle_check_when_given_a_loop_then_names_it() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
