"""Which modules run compiled, and the guard that keeps a stale compiled build out.

``pip install`` compiles the hot modules of the execution core with mypyc when
it can (``setup.py``; the list is ``[tool.finbot_bt.compile] modules`` in
``pyproject.toml``). A compiled module is an extension module next to its
``.py``, and Python imports the extension first. The build writes
``_native_build.json`` beside them: the compiled modules and a SHA-256 of every
source they were compiled from (the modules and what they import from this
package). :func:`activate`, run once when ``finbot_bt`` is imported, decides:

* ``FINBOT_BT_PURE`` set (to anything but ``0``): run the ``.py`` sources;
* no record (a pure-Python build): run the sources, ignoring any stray extension;
* a recorded source changed since the build (an editable install whose ``.py``
  was edited): run the sources and warn with :class:`StaleNativeBuildWarning`,
  so nobody silently runs code older than what they read;
* otherwise the compiled modules run.

It is all or nothing: compiled modules call each other directly, so one of them
compiled and another run from source must never meet. Running the sources is
done by a finder placed first on ``sys.meta_path`` that, for this package only,
swaps an extension module's spec for its ``.py`` source.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec, PathFinder
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "finbot_bt"
PACKAGE_DIR = Path(__file__).resolve().parent
RECORD_NAME = "_native_build.json"
RECORD_VERSION = 1
PURE_VARIABLE = "FINBOT_BT_PURE"


class StaleNativeBuildWarning(RuntimeWarning):
    """The compiled build no longer matches the sources; the sources run instead."""


class SourceFirstFinder:
    """Imports this package's modules from their ``.py`` sources, never a compiled extension.

    A meta path finder (``importlib.abc.MetaPathFinder`` by protocol; importing
    that module would cost every ``import finbot_bt`` several milliseconds).
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if path is None or not fullname.startswith(PACKAGE + "."):
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or not isinstance(spec.loader, ExtensionFileLoader) or spec.origin is None:
            return None  # not compiled: the ordinary finders take it
        name = fullname.rpartition(".")[2]
        source = Path(spec.origin).with_name(name + ".py")
        if not source.is_file():
            return None
        return spec_from_file_location(fullname, source)


class _DocumentingLoader(ExtensionFileLoader):
    """Loads a compiled module, then gives compiled classes back the docstrings mypyc dropped."""

    def __init__(self, name: str, path: str, finder: CompiledDocsFinder) -> None:
        super().__init__(name, path)
        self.finder = finder

    def exec_module(self, module: ModuleType) -> None:
        super().exec_module(module)
        # Compiled modules import each other natively, past any finder: document all loaded so far.
        self.finder.document_loaded()


class CompiledDocsFinder:
    """Finds compiled modules with a loader that restores their class docstrings (a meta path finder)."""

    def __init__(self, docstrings: Mapping[str, Mapping[str, str]]) -> None:
        self.pending = {name: dict(docs) for name, docs in docstrings.items()}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.pending or path is None:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or not isinstance(spec.loader, ExtensionFileLoader) or spec.origin is None:
            return spec
        spec.loader = _DocumentingLoader(fullname, spec.origin, self)
        return spec

    def document_loaded(self) -> None:
        for name in [name for name in self.pending if name in sys.modules]:
            module = sys.modules[name]
            # mypyc sets a wrong ``__file__`` (package folder twice) on a module it imported natively
            path = _extension_path(PACKAGE_DIR, name)
            if path is not None and getattr(module, "__file__", None) != str(path):
                module.__file__ = str(path)
            for class_name, doc in self.pending.pop(name).items():
                cls = getattr(module, class_name, None)
                if isinstance(cls, type) and cls.__module__ == name:
                    cls.__doc__ = doc


def pure_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``FINBOT_BT_PURE`` asks for the pure-Python sources."""
    return environ.get(PURE_VARIABLE, "").strip() not in ("", "0")


def load_record(package_dir: Path = PACKAGE_DIR) -> dict[str, Any] | None:
    """The build record, or None for a pure-Python build (or an unreadable record)."""
    try:
        record = json.loads((package_dir / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("version") != RECORD_VERSION:
        return None
    return record


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _extension_path(package_dir: Path, module: str) -> Path | None:
    parts = module.split(".")[1:]
    folder = package_dir.joinpath(*parts[:-1])
    for suffix in EXTENSION_SUFFIXES:
        if (folder / (parts[-1] + suffix)).is_file():
            return folder / (parts[-1] + suffix)
    return None


def choose(
    record: dict[str, Any] | None, package_dir: Path, environ: Mapping[str, str]
) -> tuple[tuple[str, ...], str, str | None]:
    """Decide what runs: (compiled modules to use, a one-line status, a warning or None)."""
    if record is None:
        return (), "pure Python (no compiled build)", None
    modules = tuple(str(module) for module in record.get("modules", ()))
    if not modules:
        return (), "pure Python (no compiled build)", None
    if pure_requested(environ):
        return (), f"pure Python ({PURE_VARIABLE} is set; {len(modules)} modules compiled)", None
    sources: dict[str, str] = record.get("sources", {})
    changed = sorted(name for name, digest in sources.items() if _digest(package_dir / name) != digest)
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        warning = (
            f"finbot_bt: the compiled modules are older than their sources ({shown} changed since the "
            f"build); running the pure-Python sources. Rebuild with `pip install -e .`, or set "
            f"{PURE_VARIABLE}=1 to run the sources without this warning."
        )
        return (), "pure Python (compiled build is stale)", warning
    missing = [module for module in modules if _extension_path(package_dir, module) is None]
    if missing or record.get("python") != sys.implementation.cache_tag:
        warning = (
            f"finbot_bt: the compiled build is incomplete or for another Python "
            f"({', '.join(missing) or record.get('python')}); running the pure-Python sources. "
            f"Rebuild with `pip install -e .`."
        )
        return (), "pure Python (compiled build unusable)", warning
    names = ", ".join(module.removeprefix(PACKAGE + ".") for module in modules)
    return modules, f"compiled with mypyc: {names}", None


_compiled: tuple[str, ...] = ()
_status = "pure Python (not activated)"


def activate() -> None:
    """Decide once, before any compiled module is imported, whether the compiled build runs."""
    global _compiled, _status
    record = load_record()
    _compiled, _status, warning = choose(record, PACKAGE_DIR, os.environ)
    if any(isinstance(finder, (SourceFirstFinder, CompiledDocsFinder)) for finder in sys.meta_path):
        pass  # activated before (finbot_bt imported again after a reload)
    elif _compiled and record is not None:
        sys.meta_path.insert(0, CompiledDocsFinder(record.get("class_docstrings", {})))
    elif not _compiled:
        sys.meta_path.insert(0, SourceFirstFinder())
    if warning is not None:
        warnings.warn(warning, StaleNativeBuildWarning, stacklevel=3)


def compiled_modules() -> tuple[str, ...]:
    """The modules running as mypyc-compiled code in this process (empty: all pure Python)."""
    return _compiled


def build_status() -> str:
    """One line for ``finbot-bt --version``: compiled or pure Python, and why."""
    return _status
