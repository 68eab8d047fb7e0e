"""The one strategy loader of finbot_bt: ``finbot-bt run``, sweeps and regressions all use it.

``load_strategy("path/to/file.py:MyStrategy")`` imports a file by path;
``load_strategy("package.module:MyStrategy")`` imports a module from
``sys.path`` (the current directory included). :func:`check_strategy_params`
checks params against the strategy before a run. The strategies shipped with
finbot_bt live in :mod:`finbot_bt.broker.strategies`
(``finbot_bt.broker.strategies:SmaCross``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from finbot_bt.broker.engine import is_strategy_class
from finbot_bt.errors import ConfigError, did_you_mean
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


def check_strategy_params(strategy: type[Any], params: Mapping[str, Any], where: str = "strategy") -> None:
    """Refuse params ``strategy`` does not declare, or whose type does not fit the default's.

    Types are strict, as in ``run.toml``: a param whose default is an int takes an
    int (not a bool, a str or a float), a float default takes an int or a float, a
    bool default a bool and a str default a str; a None default takes anything.

    Raises
    ------
    ConfigError
        Naming ``where.<param>`` and, for an unknown name, the nearest declared one.
    """
    names = strategy_param_names(strategy)
    defaults = dict(strategy.params._getitems())
    for name, value in params.items():
        if name not in names:
            raise ConfigError(f"unknown key '{where}.{name}'{did_you_mean(name, names)}: {strategy.__name__} "
                              f"has params {list(names)}")
        expected = _expected_type(defaults[name])
        if expected is not None and not _fits(value, expected):
            raise ConfigError(f"key '{where}.{name}': {strategy.__name__}.{name} defaults to "
                              f"{defaults[name]!r}, so it takes {expected}, got {value!r}")


def _expected_type(default: Any) -> str | None:
    if isinstance(default, bool):
        return "a boolean"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    return None


def _fits(value: Any, expected: str) -> bool:
    if expected == "a boolean":
        return isinstance(value, bool)
    if expected == "an integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "a number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


__all__ = ["check_strategy_params", "load_strategy", "strategy_param_names"]
