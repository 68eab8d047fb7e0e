"""Backtrader's own tests and samples as an oracle for FinbotBroker.

    python tools/bt_oracle.py /path/to/backtrader-checkout [--tests-only | --samples-only]
                              [--finbot-tests-only] [--sample NAME ...] [--diff-lines 12]

Backtrader's ``tests/`` and ``samples/`` are not in its wheel; this script takes
the path of a checkout of mementum/backtrader and never copies anything from it.

1. Tests: runs the checkout's ``tests/`` with pytest twice, with the default
   BackBroker and with ``FinbotBroker`` put where ``Cerebro.__init__`` builds its
   broker (``tools/bt_oracle_plugin.py``; every cerebro run asserts the swap took
   effect). Backtrader itself is the installed package, the one FinbotBroker is
   built on.
2. Samples: runs a list of broker-related sample scripts (with flags such as
   ``--strat switchp1p2=True``) once per broker, without plotting, and diffs
   their printed output.

Prints tests passed of total per broker, samples identical of run (object
addresses such as ``at 0x7f...`` blanked; samples whose printed decimals differ
only within 1e-9 relative are counted apart, as identical up to float
rounding), and the first diff lines of each differing sample. Exit status 1 on
any difference.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent

# (label, script under samples/, arguments)
SAMPLES: list[tuple[str, str, list[str]]] = [
    ("bracket", "bracket/bracket.py", []),
    ("bracket-usebracket", "bracket/bracket.py", ["--strat", "usebracket=True"]),
    ("bracket-usebracket-switchp1p2", "bracket/bracket.py", ["--strat", "usebracket=True,switchp1p2=True"]),
    ("bracket-switchp1p2", "bracket/bracket.py", ["--strat", "switchp1p2=True"]),
    ("oco", "oco/oco.py", []),
    ("oco-switchp1p2", "oco/oco.py", ["--strat", "switchp1p2=True"]),
    ("oco-oco1oco2", "oco/oco.py", ["--strat", "oco1oco2=True"]),
    ("oco-usetarget", "oco/oco.py", ["--strat", "usetarget=True"]),
    ("order-target-size", "order_target/order_target.py", ["--target-size"]),
    ("order-target-value", "order_target/order_target.py", ["--target-value"]),
    ("order-target-percent", "order_target/order_target.py", ["--target-percent"]),
    ("slippage-none", "slippage/slippage.py", []),
    ("slippage-perc", "slippage/slippage.py", ["--slip_perc", "0.01"]),
    ("slippage-fixed-open", "slippage/slippage.py", ["--slip_fixed", "0.5", "--slip_open"]),
    ("slippage-perc-out-nomatch", "slippage/slippage.py", ["--slip_perc", "0.01", "--slip_out", "--no-slip_match"]),
    ("credit-interest", "credit-interest/credit-interest.py", []),
    ("credit-interest-long-stocklike", "credit-interest/credit-interest.py", ["--long", "--stocklike"]),
    ("future-spot", "future-spot/future-spot.py", []),
    ("future-spot-no-comp", "future-spot/future-spot.py", ["--no-comp"]),
    ("cheat-on-open-off", "cheat-on-open/cheat-on-open.py", []),
    ("cheat-on-open-on", "cheat-on-open/cheat-on-open.py", ["--cerebro", "cheat_on_open=True"]),
    ("stop-trading-manual", "stop-trading/stop-loss-approaches.py", ["manual"]),
    ("stop-trading-manual-trail", "stop-trading/stop-loss-approaches.py", ["manual", "--strat", "trail=20"]),
    ("stop-trading-manualcheat", "stop-trading/stop-loss-approaches.py",
     ["manualcheat", "--cerebro", "cheat_on_open=True"]),
    ("stop-trading-auto-trail", "stop-trading/stop-loss-approaches.py", ["auto", "--strat", "trail=20"]),
    ("stoptrail-amount", "stoptrail/trail.py", ["--strat", "trailamount=20"]),
    ("stoptrail-percent", "stoptrail/trail.py", ["--strat", "trailpercent=0.02"]),
    ("stoptrail-limit", "stoptrail/trail.py",
     ["--strat", "stoptype=bt.Order.StopTrailLimit,trailamount=20,limitoffset=1"]),
    ("volumefilling", "volumefilling/volumefilling.py", []),
    ("volumefilling-fixedsize", "volumefilling/volumefilling.py", ["--filler", "FixedSize", "--filler-args", "size=1000"]),
    ("volumefilling-fixedbarperc", "volumefilling/volumefilling.py",
     ["--filler", "FixedBarPerc", "--filler-args", "perc=75"]),
    ("volumefilling-barpointperc", "volumefilling/volumefilling.py", ["--filler", "BarPointPerc"]),
    ("commission-futures", "commission-schemes/commission-schemes.py", []),
    ("commission-stocks-perc", "commission-schemes/commission-schemes.py",
     ["--stocklike", "--commtype", "perc", "--comm", "0.1", "--margin", "0", "--mult", "1"]),
    ("commission-stocks-fixed", "commission-schemes/commission-schemes.py",
     ["--stocklike", "--commtype", "fixed", "--margin", "0", "--mult", "1"]),
    ("order-close-daily", "order-close/close-daily.py", []),
    ("order-close-minute", "order-close/close-minute.py", []),
    ("order-execution-market", "order-execution/order-execution.py", ["--exectype", "Market"]),
    ("order-execution-close", "order-execution/order-execution.py", ["--exectype", "Close"]),
    ("order-execution-limit", "order-execution/order-execution.py", ["--exectype", "Limit", "--perc1", "1"]),
    ("order-execution-stop", "order-execution/order-execution.py", ["--exectype", "Stop", "--perc1", "1"]),
    ("order-execution-stoplimit", "order-execution/order-execution.py",
     ["--exectype", "StopLimit", "--perc1", "1", "--perc2", "0.5"]),
    ("multitrades", "multitrades/multitrades.py", ["--mtrade"]),
    ("order-history", "order-history/order-history.py", []),
    ("order-history-on", "order-history/order-history.py", ["--order-history"]),
    ("multidata-strategy", "multidata-strategy/multidata-strategy.py", []),
    ("sizertest", "sizertest/sizertest.py", []),
]

_RUNNER = """
import runpy, sys
sys.path.insert(0, {tools!r})
import bt_oracle_plugin
bt_oracle_plugin.prepare(finbot={finbot})
sys.argv = [{script!r}] + {args!r}
runpy.run_path({script!r}, run_name="__main__")
"""


def _env() -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join([str(TOOLS), str(REPO), env.get("PYTHONPATH", "")])
    return env


def run_tests(checkout: Path, broker: str, timeout: int) -> tuple[int, int, list[str], str]:
    """Run the checkout's tests/ with pytest; (passed, total, failed names, swap line)."""
    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        report = Path(tmp) / "report.txt"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "bt_oracle_plugin", "-p", "no:cacheprovider",
               "-c", str(ini), "--rootdir", str(checkout / "tests"), "-rfE", str(checkout / "tests")]
        env = dict(_env(), BT_ORACLE_BROKER=broker)
        proc = subprocess.run(cmd, cwd=checkout / "tests", env=env, capture_output=True, text=True,
                              timeout=timeout)
        report.write_text(proc.stdout)
    out = proc.stdout
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", out)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) failed", out)) else 0
    errors = int(m.group(1)) if (m := re.search(r"(\d+) errors?", out)) else 0
    names = re.findall(r"^(?:FAILED|ERROR) (\S+)", out, re.M)
    swap = next((line for line in out.splitlines() if line.startswith("[bt_oracle]")), "(no swap report)")
    return passed, passed + failed + errors, names, swap


def run_sample(checkout: Path, script: str, args: list[str], finbot: bool, timeout: int) -> tuple[str, str, int]:
    path = checkout / "samples" / script
    code = _RUNNER.format(tools=str(TOOLS), finbot=finbot, script=str(path), args=args)
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=path.parent, env=_env(), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "", f"timeout after {timeout}s", -1
    return proc.stdout, proc.stderr, proc.returncode


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")


def _normal(text: str) -> str:
    # object addresses (``<... object at 0x7f...>``) differ between any two processes
    return _ADDRESS.sub(" at 0x...", text)


def _same_but_rounding(a: str, b: str) -> bool:
    """Equal lines, or lines that differ only in decimals equal to 1e-9 relative (docs/differences.md #10)."""
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb, strict=True):
        if x == y:
            continue
        if _NUMBER.split(x) != _NUMBER.split(y):
            return False
        nx, ny = _NUMBER.findall(x), _NUMBER.findall(y)
        if not all(math.isclose(float(p), float(q), rel_tol=1e-9, abs_tol=2e-6) for p, q in zip(nx, ny, strict=True)):
            return False
    return True


def compare_samples(checkout: Path, names: list[str], diff_lines: int, timeout: int) -> tuple[int, int, int]:
    """Run the chosen samples under both brokers; (identical, identical up to rounding, run)."""
    chosen = [s for s in SAMPLES if not names or s[0] in names]
    identical = rounding = 0
    for label, script, args in chosen:
        started = time.monotonic()
        back_out, back_err, back_rc = run_sample(checkout, script, args, False, timeout)
        fin_out, fin_err, fin_rc = run_sample(checkout, script, args, True, timeout)
        back_out, fin_out = _normal(back_out), _normal(fin_out)
        swapped = re.search(r"with FinbotBroker: (\d+)", fin_err)
        runs = re.search(r"cerebro runs: (\d+)", fin_err)
        swap_ok = swapped is not None and runs is not None and swapped.group(1) == runs.group(1) != "0"
        took = time.monotonic() - started
        if back_out == fin_out and back_rc == fin_rc and swap_ok:
            identical += 1
            print(f"  identical  {label}  ({len(back_out.splitlines())} lines, {took:.1f}s)")
            continue
        if back_rc == fin_rc and swap_ok and _same_but_rounding(back_out, fin_out):
            rounding += 1
            print(f"  identical up to float rounding  {label}  ({len(back_out.splitlines())} lines, {took:.1f}s)")
            continue
        print(f"  DIFFERENT  {label}  (exit {back_rc}/{fin_rc}, swap {'ok' if swap_ok else 'NOT CONFIRMED'}, "
              f"{took:.1f}s)  {script} {' '.join(args)}")
        diff = list(difflib.unified_diff(back_out.splitlines(), fin_out.splitlines(), "BackBroker", "FinbotBroker",
                                         n=0, lineterm=""))
        for line in diff[2:2 + diff_lines]:
            print(f"      {line}")
        for err, who in ((back_err, "BackBroker"), (fin_err, "FinbotBroker")):
            tail = [x for x in err.strip().splitlines() if not x.startswith("[bt_oracle]")][-3:]
            if tail and (back_rc or fin_rc):
                print(f"      {who} stderr: " + " | ".join(tail))
    return identical, rounding, len(chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkout", type=Path, help="path of a mementum/backtrader checkout")
    parser.add_argument("--tests-only", action="store_true")
    parser.add_argument("--samples-only", action="store_true")
    parser.add_argument("--finbot-tests-only", action="store_true",
                        help="run the tests with FinbotBroker only (skip the BackBroker baseline)")
    parser.add_argument("--sample", action="append", default=[], help="run only this sample label (repeatable)")
    parser.add_argument("--diff-lines", type=int, default=12)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per pytest run or sample")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    if not (checkout / "tests" / "testcommon.py").is_file() or not (checkout / "samples").is_dir():
        parser.error(f"{checkout} does not look like a Backtrader checkout (tests/testcommon.py, samples/)")
    bad = False
    if not args.samples_only:
        for broker in ("finbot",) if args.finbot_tests_only else ("back", "finbot"):
            started = time.monotonic()
            passed, total, failed, swap = run_tests(checkout, broker, args.timeout)
            print(f"tests with {'FinbotBroker' if broker == 'finbot' else 'BackBroker'}: {passed} passed of "
                  f"{total} ({time.monotonic() - started:.0f}s); {swap}")
            for name in failed:
                print(f"  failed: {name}")
            bad = bad or passed != total or total == 0
    if not args.tests_only:
        print("samples (BackBroker vs FinbotBroker):")
        identical, rounding, ran = compare_samples(checkout, args.sample, args.diff_lines, args.timeout)
        print(f"samples identical: {identical} of {ran}; {rounding} more identical up to float rounding "
              f"(printed decimals equal to 1e-9 relative: BackBroker's binary floats against exact Decimals)")
        bad = bad or identical + rounding != ran
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
