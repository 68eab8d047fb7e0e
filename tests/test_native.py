"""The compiled core (mypyc): what it lists is native, and it computes what the sources compute.

In a compiled build, ``finbot_bt.compiled_modules()`` names the modules running
as extension modules; ``FINBOT_BT_PURE=1`` runs the same checkout from its
``.py`` sources. The equality tests run one workload twice in subprocesses,
compiled and pure, and require identical output. In a pure-Python build they
have nothing to compare and skip. CI sets ``FINBOT_BT_EXPECT_BUILD`` to
``compiled`` or ``pure`` so that a build that silently fell back fails here.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import os
import subprocess
import sys
import types
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader
from pathlib import Path

import pytest

import finbot_bt
from finbot_bt import _native

ROOT = Path(__file__).resolve().parents[1]


def _compiled_or_skip() -> tuple[str, ...]:
    modules = finbot_bt.compiled_modules()
    if not modules:
        pytest.skip(f"nothing compiled in this process ({_native.build_status()})")
    return modules


def _run(code: str, *, pure: bool) -> str:
    env = {key: value for key, value in os.environ.items() if key != _native.PURE_VARIABLE}
    if pure:
        env[_native.PURE_VARIABLE] = "1"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_native_when_ci_expects_a_build_then_it_is_that_build() -> None:
    expected = os.environ.get("FINBOT_BT_EXPECT_BUILD")
    if expected is None:
        pytest.skip("FINBOT_BT_EXPECT_BUILD not set (CI sets it)")
    assert expected in ("compiled", "pure")
    assert bool(finbot_bt.compiled_modules()) == (expected == "compiled"), _native.build_status()


def test_native_when_compiled_then_listed_modules_are_extension_modules() -> None:
    for name in _compiled_or_skip():
        module = importlib.import_module(name)
        assert isinstance(module.__spec__.loader, ExtensionFileLoader), name
        assert module.__file__ is not None and module.__file__.endswith(tuple(EXTENSION_SUFFIXES)), name
        assert Path(module.__file__).is_file(), module.__file__
        # its functions are compiled ones, not Python functions
        python_functions = [key for key, value in vars(module).items()
                            if isinstance(value, types.FunctionType) and value.__module__ == name]
        assert python_functions == [], name
        # mypyc drops class docstrings; finbot_bt._native gives them back
        tree = ast.parse(Path(module.__file__).with_name(name.rpartition(".")[2] + ".py").read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and ast.get_docstring(node):
                assert getattr(module, node.name).__doc__ == ast.get_docstring(node, clean=False), node.name
    from finbot_bt.execution.order_book import OrderBook

    if "finbot_bt.execution.order_book" in finbot_bt.compiled_modules():
        assert not isinstance(OrderBook.update, types.FunctionType)  # a compiled method


def test_native_when_pure_requested_then_every_module_runs_from_source() -> None:
    code = (
        "import finbot_bt, importlib, json\n"
        "from finbot_bt.execution.simulator import ExecutionSimulator\n"
        "import finbot_bt.broker\n"
        "import sys\n"
        "files = {n: m.__file__ for n, m in sys.modules.items() if n.startswith('finbot_bt')"
        " and getattr(m, '__file__', None)}\n"
        "print(json.dumps([finbot_bt.compiled_modules(), files]))\n"
    )
    compiled, files = json.loads(_run(code, pure=True))
    assert compiled == []
    assert "finbot_bt.execution.simulator" in files
    assert all(path.endswith(".py") for path in files.values()), files


# A core workload: NORMAL latency, every risk rule, partial fills under a volume cap, slippage,
# commission, every order type, OCO groups and cancels; the printed events and account must match.
_CORE = r'''
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from finbot_bt.contracts.risk import (DrawdownLimitRule, ExposureLimitRule, OrderRateLimit, OrderSizeRule,
                                      PositionLimitRule, RiskConfig)
from finbot_bt.execution import ExecutionSimulator
from finbot_bt.execution.commission import PercentCommission
from finbot_bt.execution.fills import FillConfig, ParticipationCap
from finbot_bt.execution.slippage import BasisPointsSlippage
from tests.factories import bar, order

risk = RiskConfig(
    position_limit=PositionLimitRule(max_shares=Decimal(400), max_value=Decimal(10**6)),
    exposure_limit=ExposureLimitRule(max_gross_exposure_pct=Decimal(300), max_net_exposure_pct=Decimal(200)),
    drawdown_limit=DrawdownLimitRule(max_daily_drawdown_pct=Decimal(50), max_total_drawdown_pct=Decimal(80)),
    order_size=OrderSizeRule(max_order_quantity=Decimal(150), max_order_notional=Decimal(10**5)),
    order_rate=OrderRateLimit(max_orders=6, interval=timedelta(minutes=5)),
)
sim = ExecutionSimulator(Decimal(100_000), latency="normal", seed=7, risk=risk,
                         slippage=BasisPointsSlippage(bps=Decimal(3)), commission=PercentCommission(rate=Decimal("0.001")),
                         fill=FillConfig(volume_cap=ParticipationCap(fraction=Decimal("0.25"))))
events = []
sim.add_listener(events.append)
rng = random.Random(11)
t = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
price = 100.0
ids = []
for i in range(600):
    o = price
    c = round(o * (1 + rng.gauss(0, 0.01)), 2)
    h = round(max(o, c) * (1 + abs(rng.gauss(0, 0.004))), 2)
    lo = round(min(o, c) * (1 - abs(rng.gauss(0, 0.004))), 2)
    t += timedelta(minutes=1)
    sim.process_market_data(t, {"SPY": bar(str(o), str(h), str(lo), str(c), t, volume=rng.randint(0, 400))})
    price = c
    for _ in range(rng.randint(0, 3)):
        side = rng.choice(("buy", "sell"))
        kind = rng.choice(("market", "limit", "stop", "stop_limit", "trailing_stop"))
        away = 1 if (side == "buy") == (kind == "limit") else -1
        limit = stop = trail = None
        if kind in ("limit", "stop_limit"):
            limit = str(round(c * (1 - away * 0.004 * rng.random()), 2))
        if kind in ("stop", "stop_limit"):
            stop = str(round(c * (1 + away * 0.004 * rng.random()), 2))
        if kind == "stop_limit":
            limit = stop
        if kind == "trailing_stop":
            trail = str(round(c * 0.005, 2))
        oco = f"g{i}" if rng.random() < 0.2 else None
        new = order(side, rng.randint(1, 200), kind, limit=limit, stop=stop, trail_amount=trail, oco=oco,
                    order_id=f"o{i}-{len(ids)}")
        ids.append(new.order_id)
        sim.submit_order(new, t + timedelta(seconds=10))
    if ids and rng.random() < 0.3:
        sim.cancel_order(rng.choice(ids), t + timedelta(seconds=20))
for event in events:
    print(repr(event))
print(sim.get_account_value(), sim.get_position("SPY"), [repr(o) for o in sim.orders()][-5:])
'''

# The broker path: seeds of the parity fuzzer (every order type, brackets, OCO, targets, settings).
_BROKER = r'''
from finbot_bt import FinbotBroker
from tests.parity_fuzz import generate
from tests.parity_fuzz_check import run_one
for seed in range(12):
    print(seed, repr(run_one(generate(seed), FinbotBroker)))
'''


@pytest.mark.parametrize("workload", [_CORE, _BROKER], ids=["core", "broker"])
def test_native_when_compiled_then_results_equal_pure_python(workload: str) -> None:
    _compiled_or_skip()
    compiled = _run(workload, pure=False)
    pure = _run(workload, pure=True)
    assert len(compiled.splitlines()) >= 12
    assert compiled == pure


def _record(tmp_path: Path, source: bytes = b"x = 1\n", modules: tuple[str, ...] = ("finbot_bt.execution.x",),
            python: str = sys.implementation.cache_tag) -> dict[str, object]:
    (tmp_path / "execution").mkdir()
    (tmp_path / "execution" / "x.py").write_bytes(b"x = 1\n")
    (tmp_path / "execution" / ("x" + EXTENSION_SUFFIXES[0])).write_bytes(b"")
    return {"version": 1, "modules": list(modules), "python": python,
            "sources": {"execution/x.py": hashlib.sha256(source).hexdigest()}}


def test_native_when_record_matches_sources_then_compiled(tmp_path: Path) -> None:
    modules, status, warning = _native.choose(_record(tmp_path), tmp_path, {})
    assert modules == ("finbot_bt.execution.x",)
    assert status == "compiled with mypyc: execution.x"
    assert warning is None


def test_native_when_source_edited_after_build_then_pure_with_warning(tmp_path: Path) -> None:
    modules, status, warning = _native.choose(_record(tmp_path, source=b"x = 0\n"), tmp_path, {})
    assert modules == ()
    assert status == "pure Python (compiled build is stale)"
    assert warning is not None and "execution/x.py changed since the build" in warning


def test_native_when_pure_variable_set_then_pure_without_warning(tmp_path: Path) -> None:
    record = _record(tmp_path)
    assert _native.choose(record, tmp_path, {"FINBOT_BT_PURE": "1"})[::2] == ((), None)
    assert _native.choose(record, tmp_path, {"FINBOT_BT_PURE": "0"})[0] == ("finbot_bt.execution.x",)


def test_native_when_no_record_or_foreign_build_then_pure(tmp_path: Path) -> None:
    assert _native.choose(None, tmp_path, {}) == ((), "pure Python (no compiled build)", None)
    modules, _, warning = _native.choose(_record(tmp_path, python="cpython-00"), tmp_path, {})
    assert modules == () and warning is not None and "cpython-00" in warning
    assert _native.load_record(tmp_path) is None  # no record file there


def test_native_when_extension_beside_source_then_finder_picks_source(tmp_path: Path) -> None:
    package = tmp_path / "finbot_bt" / "sub"
    package.mkdir(parents=True)
    (package / "mod.py").write_text("VALUE = 'source'\n", encoding="utf-8")
    (package / ("mod" + EXTENSION_SUFFIXES[0])).write_bytes(b"not a real extension")
    finder = _native.SourceFirstFinder()
    spec = finder.find_spec("finbot_bt.sub.mod", [str(package)])
    assert spec is not None and spec.origin == str(package / "mod.py")
    assert finder.find_spec("finbot_bt.sub.other", [str(package)]) is None
    assert finder.find_spec("elsewhere.mod", [str(package)]) is None


def test_native_when_version_asked_then_build_is_shown() -> None:
    result = subprocess.run([sys.executable, "-m", "finbot_bt.cli", "--version"], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert _native.build_status().split(":")[0] in " ".join(result.stdout.split())
