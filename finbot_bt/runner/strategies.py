"""The example strategy and the loader for user strategies.

``load_strategy("path/to/file.py:MyStrategy")`` imports a file by path;
``load_strategy("package.module:MyStrategy")`` imports a module from
``sys.path`` (the current directory included).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from finbot_bt.broker.engine import is_strategy_class
from finbot_bt.broker.strategies import SmaCross
from finbot_bt.runner.errors import StrategyImportError


def load_strategy(spec: str) -> type[Any]:
    """Import the ``bt.Strategy`` subclass named by ``spec`` (``file.py:Class`` or ``module:Class``).

    Raises
    ------
    StrategyImportError
        The spec is malformed, the file or module does not import, the name is
        missing, or it is not a ``bt.Strategy`` subclass. The message is one line.
    """
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise StrategyImportError(f"strategy must be 'path/to/file.py:ClassName' or 'module:ClassName', got {spec!r}")
    module = _import_file(target) if target.endswith(".py") or "/" in target else _import_module(target)
    try:
        strategy = getattr(module, name)
    except AttributeError:
        raise StrategyImportError(f"{target} has no attribute {name!r}") from None
    if not is_strategy_class(strategy):
        raise StrategyImportError(f"{spec} is not a backtrader Strategy subclass")
    return strategy


def _import_file(target: str) -> Any:
    path = Path(target)
    if not path.is_file():
        raise StrategyImportError(f"strategy file not found: {path}")
    module_name = f"finbot_user_strategy_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise StrategyImportError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # the user's module may raise anything while importing
        sys.modules.pop(module_name, None)
        raise StrategyImportError(f"cannot import {path}: {_describe(exc)}") from None
    return module


def _import_module(target: str) -> Any:
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        return importlib.import_module(target)
    except Exception as exc:  # the user's module may raise anything while importing
        raise StrategyImportError(f"cannot import module {target!r}: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        detail = f"{exc.msg} (line {exc.lineno})"
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def strategy_param_names(strategy: type[Any]) -> tuple[str, ...]:
    """The names of ``strategy``'s backtrader params."""
    return tuple(strategy.params._getkeys())


__all__ = ["SmaCross", "load_strategy", "strategy_param_names"]
