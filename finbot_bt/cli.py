"""The ``finbot-bt`` command line.

Commands
--------
``finbot-bt demo [--out DIR] [--no-report]``
    The SMA crossover on the bundled data with ``FinbotBroker()`` and with
    NORMAL latency, risk limits and a volume cap; prints a side-by-side
    summary and writes a report (default ``finbot-bt-report/``).
``finbot-bt run STRATEGY --data FILE [--data FILE ...] [--config run.toml] [--report DIR]``
    Run a strategy (``path/to/file.py:ClassName`` or ``module:ClassName``) on
    CSV (Yahoo, Backtrader or generic OHLCV layout) or Parquet files.
``finbot-bt checkpoints list|show|verify DIR``
    Inspect and verify checkpoint folders.
``finbot-bt sweep --grid grid.toml [--scheduler tcp://host:8786] [--workers N] [--out DIR]``
    Run a parameter x broker-settings x data grid on Dask (see ``finbot_bt.sweep``).
``finbot-bt regress suite.toml [--update] [--run NAME ...]``
    Compare named backtests with their golden results (see ``finbot_bt.regress``).

Exit codes
----------
0 success; 1 unexpected internal error; 2 usage or configuration error;
3 data error (missing or malformed data file); 4 strategy import error;
5 the strategy raised during the run; 6 checkpoint error (missing,
unreadable or failed verification); 7 regression drift; 8 a sweep finished
with one or more failed cells. Errors are one line on stderr,
``finbot-bt: error: ...``; ``--traceback`` shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any, NoReturn

from finbot_bt import __version__
from finbot_bt._native import build_status
from finbot_bt.errors import CheckpointError, ConfigError, FinbotError, did_you_mean
from finbot_bt.runner.errors import DataError, StrategyImportError

PROG = "finbot-bt"
DEFAULT_REPORT_DIR = "finbot-bt-report"


class ExitCode(IntEnum):
    """Exit statuses of ``finbot-bt`` (stable: scripts may rely on them)."""

    OK = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    DATA = 3
    STRATEGY_IMPORT = 4
    STRATEGY_FAILED = 5
    CHECKPOINT = 6
    REGRESSION = 7
    SWEEP_CELLS_FAILED = 8


class StrategyFailed(FinbotError):
    """The user's strategy raised while the backtest ran."""


_CODES: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (ConfigError, ExitCode.USAGE),
    (DataError, ExitCode.DATA),
    (StrategyImportError, ExitCode.STRATEGY_IMPORT),
    (StrategyFailed, ExitCode.STRATEGY_FAILED),
    (CheckpointError, ExitCode.CHECKPOINT),
)


# ---------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> ExitCode:
    from finbot_bt.broker.progress import progress_enabled
    from finbot_bt.runner.demo import run_demo, write_demo_report
    from finbot_bt.runner.summary import format_table

    default, realistic = run_demo(progress=progress_enabled())
    print("SMA(10/30) crossover on the bundled synthetic daily data (504 bars, 100,000 cash)\n")
    print(format_table([default.summary, realistic.summary]))
    if not args.no_report:
        files = write_demo_report(default, realistic, args.out)
        print(f"\nreport: {files.html}")
    return ExitCode.OK


# ---------------------------------------------------------------------- run
def _frames(paths: Sequence[str], adjust: Any = "raw") -> list[tuple[str, Any]]:
    from finbot_bt.runner.loading import load_ohlcv, symbol_for

    frames: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for path in paths:
        symbol = base = symbol_for(path)
        n = 1
        while symbol in seen:
            n += 1
            symbol = f"{base}_{n}"
        seen.add(symbol)
        frames.append((symbol, load_ohlcv(path, adjust=adjust)))
    return frames


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> ExitCode:
    from finbot_bt.broker import FinbotBroker
    from finbot_bt.broker.progress import progress_enabled
    from finbot_bt.runner.backtest import run_backtest
    from finbot_bt.runner.config import RunConfig, load_run_config
    from finbot_bt.runner.loader import check_strategy_params, load_strategy
    from finbot_bt.runner.loading import price_note
    from finbot_bt.runner.summary import format_table, summary_frame

    if args.config is not None:
        config, broker_kwargs = load_run_config(args.config)
    else:
        config = RunConfig()
        broker_kwargs = config.broker_kwargs()
    if args.resume:
        if broker_kwargs.get("checkpoint_dir") is None:
            raise ConfigError("--resume needs checkpoint_dir in the --config TOML (the session's folder)")
        broker_kwargs["resume"] = True
    frames = _frames(args.data, args.adjust or config.adjust)
    strategy = load_strategy(args.strategy)
    try:
        check_strategy_params(strategy, config.strategy)
    except ConfigError as exc:
        raise ConfigError(f"{args.config}: {exc}") from None
    label = f"{strategy.__name__} ({getattr(broker_kwargs['latency'], 'name', 'custom')} latency)"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # data warnings as one "finbot-bt: warning:" line each
            result = run_backtest(strategy, frames, broker=FinbotBroker(**broker_kwargs), label=label,
                                  strategy_params=config.strategy, progress=progress_enabled(),
                                  notes=[price_note(frame for _, frame in frames)])
    except FinbotError:
        raise
    except Exception as exc:  # the user's strategy may raise anything
        raise StrategyFailed(_strategy_failure(exc)) from exc
    print(format_table([result.summary]))
    if args.report is not None:
        from finbot_bt.reports import write_report

        files = write_report(result.broker, args.report, prices=result.prices, label=result.label,
                             title=f"finbot-bt run: {args.strategy}", summary=summary_frame([result.summary]))
        print(f"\nreport: {files.html}")
    return ExitCode.OK


def _strategy_failure(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f"{f.filename}:{f.lineno}" for f in reversed(frames)
                  if "site-packages" not in f.filename and "/finbot_bt/" not in f.filename), None)
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return f"strategy raised {message}" + (f" (at {where})" if where else "")


# ---------------------------------------------------------------------- checkpoints
def cmd_checkpoints_list(args: argparse.Namespace) -> ExitCode:
    from finbot_bt.runner.checkpoints import list_folder

    listings = list_folder(args.dir)
    if not listings:
        print(f"no checkpoints in {args.dir}")
        return ExitCode.OK
    for listing in listings:
        print(f"{listing.simulator_id}: {len(listing.checkpoints)} checkpoint(s)")
        for info in listing.checkpoints:
            mark = "  (latest)" if listing.latest is not None and info.path.name == listing.latest.name else ""
            when = info.timestamp.isoformat() if info.timestamp is not None else "start"
            print(f"  {info.path.name}  time={when}  events={info.sequence}{mark}")
    return ExitCode.OK


def cmd_checkpoints_show(args: argparse.Namespace) -> ExitCode:
    from finbot_bt.runner.checkpoints import show

    lines = show(args.dir, args.simulator)
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        text = value.splitlines() or [""]
        print(f"{name.ljust(width)}  {text[0]}")
        for more in text[1:]:
            print(f"{''.ljust(width)}  {more}")
    return ExitCode.OK


def cmd_checkpoints_verify(args: argparse.Namespace) -> ExitCode:
    from finbot_bt.runner.checkpoints import verify_folder

    results = verify_folder(args.dir)
    if not results:
        raise CheckpointError(f"no checkpoints in {args.dir}")
    bad = 0
    for path, problem in results:
        if problem is None:
            print(f"ok      {path}")
        else:
            bad += 1
            print(f"FAILED  {problem}")
    print(f"{len(results) - bad} ok, {bad} failed")
    return ExitCode.CHECKPOINT if bad else ExitCode.OK


# ---------------------------------------------------------------------- sweep, regress
def cmd_sweep(args: argparse.Namespace) -> ExitCode:
    from finbot_bt.sweep.command import sweep_command

    return ExitCode(sweep_command(args))


def cmd_regress(args: argparse.Namespace) -> ExitCode:
    from finbot_bt.regress.command import regress_command

    return ExitCode(regress_command(args))


# ---------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with "did you mean" on invalid choices and unknown options."""

    def error(self, message: str) -> NoReturn:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice is not None:
            message += did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
        elif message.startswith("unrecognized arguments: "):
            options = _option_strings(self)
            unknown = [word for word in message.removeprefix("unrecognized arguments: ").split() if word[:1] == "-"]
            hints = [did_you_mean(word.split("=", 1)[0], options) for word in unknown]
            message += next((hint for hint in hints if hint), "")
        super().error(message)


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    found: list[str] = []
    for action in parser._actions:
        found += [option for option in action.option_strings if option.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _option_strings(sub)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``finbot-bt``."""
    parser = _Parser(
        prog=PROG, description="Backtrader backtests with realistic execution (finbot_bt).",
        epilog="exit codes: 0 ok, 1 internal error, 2 usage/config error, 3 data error, "
               "4 strategy import error, 5 strategy failed, 6 checkpoint error, 7 regression drift, "
               "8 sweep cells failed")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}; {build_status()}")
    parser.add_argument("--traceback", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run the demo backtest on the bundled data and write a report")
    demo.add_argument("--out", default=DEFAULT_REPORT_DIR, help=f"report folder (default {DEFAULT_REPORT_DIR})")
    demo.add_argument("--no-report", action="store_true", help="print the summary only")
    demo.set_defaults(handler=cmd_demo)

    run = commands.add_parser("run", help="run a strategy on CSV or Parquet data")
    run.add_argument("strategy", metavar="STRATEGY", help="path/to/file.py:ClassName or module:ClassName")
    run.add_argument("--data", action="append", required=True, metavar="FILE",
                     help="OHLCV file (CSV: Yahoo, Backtrader or generic layout; or Parquet); repeatable")
    run.add_argument("--config", metavar="TOML", help="broker settings (run.toml)")
    run.add_argument("--report", metavar="DIR", help="write an HTML report and PNG figures to DIR")
    run.add_argument("--resume", action="store_true",
                     help="continue the session in the TOML's checkpoint_dir (latest checkpoint plus journal; "
                          "bars it already processed are skipped)")
    run.add_argument("--adjust", choices=("raw", "yahoo"),
                     help="prices: raw, as in the files (default), or yahoo: adjusted by Adj Close and rounded "
                          "to 2 decimals as Backtrader's YahooFinanceCSVData does (overrides the TOML key)")
    run.set_defaults(handler=cmd_run)

    checkpoints = commands.add_parser("checkpoints", help="inspect and verify checkpoint folders")
    actions = checkpoints.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list checkpoints per simulator")
    listing.add_argument("dir", metavar="DIR")
    listing.set_defaults(handler=cmd_checkpoints_list)
    showing = actions.add_parser("show", help="describe a checkpoint (a file, or the latest in DIR)")
    showing.add_argument("dir", metavar="DIR")
    showing.add_argument("--simulator", help="simulator id, when DIR holds several")
    showing.set_defaults(handler=cmd_checkpoints_show)
    verifying = actions.add_parser("verify", help="verify every checkpoint (hash, schema, trial restore)")
    verifying.add_argument("dir", metavar="DIR")
    verifying.set_defaults(handler=cmd_checkpoints_verify)

    sweep = commands.add_parser("sweep", help="run a parameter/broker/data grid on Dask")
    sweep.add_argument("--grid", required=True, metavar="TOML", help="grid file (see finbot_bt.sweep.grid)")
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="existing Dask scheduler, e.g. tcp://host:8786")
    sweep.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes (default: CPU count; 0 runs in this process)")
    sweep.add_argument("--out", metavar="DIR", help="results (Parquet parts; rerun to resume), "
                                                    "default <grid>-results.parquet")
    sweep.add_argument("--retry-errors", action="store_true", help="rerun cells stored with an error")
    sweep.set_defaults(handler=cmd_sweep)

    regress = commands.add_parser("regress", help="compare named backtests with their golden results")
    regress.add_argument("suite", metavar="SUITE", help="suite file (see finbot_bt.regress.suite)")
    regress.add_argument("--update", action="store_true", help="rewrite the goldens from this run")
    regress.add_argument("--run", action="append", metavar="NAME", help="only this run; repeatable")
    regress.set_defaults(handler=cmd_regress)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``finbot-bt`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exc.code) if isinstance(exc.code, int) else ExitCode.USAGE
    handler: Callable[[argparse.Namespace], ExitCode] = args.handler
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()  # the reader (e.g. ``| head``) went away: stop quietly
        return int(ExitCode.OK)
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        code = next((code for kind, code in _CODES if isinstance(exc, kind)), ExitCode.INTERNAL_ERROR)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if code is ExitCode.INTERNAL_ERROR:
            message = f"internal error: {type(exc).__name__}: {message} (rerun with --traceback for details)"
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return int(code)


def _quiet_stdout() -> None:
    # Python flushes stdout at exit; point it at /dev/null so that flush cannot fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def entry_point() -> None:
    """Console-script entry: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
