"""Run every benchmark and keep the figures.

One command for all of ``benchmarks/``:

    python benchmarks/run_all.py                   # full sizes (about 15-20 minutes)
    python benchmarks/run_all.py --quick           # smoke run with tiny sizes (CI)
    python benchmarks/run_all.py --only broker,core   # a subset; other entries of the JSON are kept

Each benchmark runs in its own process; its printed table is echoed and
stored, with machine, Python version and date, in ``benchmarks/results.json``
(or ``--json PATH``) so later runs can be compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# name -> (full arguments, quick arguments, accepts --json)
BENCHMARKS: dict[str, tuple[list[str], list[str], bool]] = {
    "core": ([], ["--quick"], True),
    "broker": (["--bars", "10000", "--repeat", "3"], ["--quick"], True),  # ~8 min; bench_broker alone defaults to 20,000 x 5
    "risk": ([], ["--quick"], False),
    "memory": ([], ["--quick"], True),
    "checkpoint": (["--orders", "1000000"], ["--orders", "2000"], False),
    "sweep": ([], ["--cells", "4", "--bars", "200", "--repeat", "1"], False),
}


def machine() -> dict[str, Any]:
    return {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "date": dt.date.today().isoformat()}


def run_one(name: str, quick: bool) -> dict[str, Any]:
    full, small, has_json = BENCHMARKS[name]
    args = small if quick else full
    with tempfile.TemporaryDirectory() as folder:
        json_path = Path(folder) / f"{name}.json"
        command = [sys.executable, str(HERE / f"bench_{name}.py"), *args]
        if has_json:
            command += ["--json", str(json_path)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        result: dict[str, Any] = {"command": " ".join(Path(c).name if i == 1 else c
                                                      for i, c in enumerate(command[:2 + len(args)])),
                                  "date": dt.date.today().isoformat(),
                                  "seconds": round(elapsed, 2), "returncode": done.returncode,
                                  "output": done.stdout}
        if done.returncode != 0:
            result["error"] = done.stderr[-4000:]
        elif has_json and json_path.exists():
            result["figures"] = json.loads(json_path.read_text(encoding="utf-8"))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run with tiny sizes")
    parser.add_argument("--only", help="comma-separated subset of " + ",".join(BENCHMARKS))
    parser.add_argument("--json", default=str(HERE / "results.json"), help="where to write the figures")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "benchmarks": {}}
    previous = Path(args.json)
    if args.only and previous.exists():
        # A subset run updates its own entries and keeps the others (each entry has its date).
        try:
            kept = json.loads(previous.read_text(encoding="utf-8"))
        except ValueError:
            kept = {}
        if isinstance(kept, dict) and kept.get("quick") == args.quick:
            report["benchmarks"] = dict(kept.get("benchmarks", {}))
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        result = run_one(name, args.quick)
        print(result["output"], end="", flush=True)
        if result["returncode"] != 0:
            failed.append(name)
            print(result.get("error", ""), file=sys.stderr)
        report["benchmarks"][name] = result
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.json}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
