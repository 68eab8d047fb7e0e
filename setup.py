"""Build script: compile the hot modules with mypyc, or fall back to pure Python.

Everything else about the package is declared in ``pyproject.toml``; this file
only adds the optional compiled modules (listed under
``[tool.finbot_bt.compile] modules``).

* Compiled build (the default): mypyc translates the listed modules to C and
  the C compiler builds them into one shared library
  (``finbot_bt/_native__mypyc*.so``) plus one small extension module per listed
  module, next to its ``.py``. A record of the build
  (``finbot_bt/_native_build.json``: the compiled modules and a SHA-256 of every
  source they were built from) is written beside them; at import time
  ``finbot_bt._native`` uses the compiled modules only if every one of those
  sources is unchanged, and otherwise runs the pure-Python sources with a warning.
* Pure-Python build: when ``FINBOT_BT_PURE=1`` is set at build time, when mypyc
  cannot be imported, or when translating or compiling fails (no C compiler),
  the package installs as plain Python. Nothing is lost but speed.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PACKAGE = "finbot_bt"
GROUP = f"{PACKAGE}._native"  # the shared library: finbot_bt/_native__mypyc.<abi>.so
RECORD = "_native_build.json"
RECORD_VERSION = 1


def _say(message: str) -> None:
    # pip shows a build's output with -v; a fallback is also worth a line without it.
    print(f"finbot_bt build: {message}", file=sys.stderr, flush=True)


def _pure_requested() -> bool:
    return os.environ.get("FINBOT_BT_PURE", "").strip() not in ("", "0")


def _configured_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    modules: list[str] = config["tool"]["finbot_bt"]["compile"]["modules"]
    return modules


def _source(module: str) -> Path:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def _imported_package_modules(path: Path) -> set[str]:
    """Modules of this package that ``path`` imports (absolute imports, as the package uses)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                found.add(name)
    return found


def _dependency_closure(modules: list[str]) -> list[str]:
    """The compiled modules and every package module they import, transitively.

    mypyc compiles against the types of everything a compiled module imports, so
    a change to any of these sources makes the build stale.
    """
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _source(name)
        if not path.is_file():
            package_init = ROOT.joinpath(*name.split("."), "__init__.py")
            if not package_init.is_file():
                continue  # ``from package.module import name``: the name is no module
            path = package_init
        seen.add(name)
        todo.extend(_imported_package_modules(path) - seen)
    return sorted(seen)


def _relative_source(module: str) -> str:
    path = _source(module)
    if not path.is_file():
        path = ROOT.joinpath(*module.split("."), "__init__.py")
    return path.relative_to(ROOT / PACKAGE).as_posix()


def _class_docstrings(module: str) -> dict[str, str]:
    """Docstrings of the module's top-level classes (mypyc drops them; ``finbot_bt._native`` puts them back)."""
    tree = ast.parse(_source(module).read_text(encoding="utf-8"))
    docs = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                docs[node.name] = doc
    return docs


def _record(modules: list[str]) -> dict[str, Any]:
    sources = {}
    for module in _dependency_closure(modules):
        relative = _relative_source(module)
        sources[relative] = hashlib.sha256((ROOT / PACKAGE / relative).read_bytes()).hexdigest()
    return {"version": RECORD_VERSION, "modules": modules, "sources": sources,
            "python": sys.implementation.cache_tag,
            "class_docstrings": {module: _class_docstrings(module) for module in modules}}


def _remove_in_place_build() -> None:
    """Delete compiled artifacts an earlier in-place (editable) build left in the source tree."""
    package = ROOT / PACKAGE
    stale = [package / RECORD, *package.rglob("*.so"), *package.rglob("*.pyd")]
    for path in stale:
        if path.is_file():
            path.unlink()
            _say(f"removed {path.relative_to(ROOT)} from an earlier compiled build")


class OptionalBuildExt(build_ext):
    """``build_ext`` that records a successful mypyc build and falls back to pure Python on failure."""

    def run(self) -> None:
        # Where the outputs land (in the source tree for an editable install), taken before
        # setuptools' run() switches ``inplace`` off while it compiles.
        outputs = [Path(self.get_ext_fullpath(extension.name)) for extension in self.extensions]
        package_dir = Path(self.get_ext_fullpath(f"{GROUP}__mypyc")).parent
        record = package_dir / RECORD
        if record.exists():
            record.unlink()  # never leave a record of an earlier build while this one runs
        if not self.extensions:
            return  # pure Python (the fallback above): nothing to compile, nothing to record
        try:
            super().run()
        except Exception as error:  # any compiler failure means: install pure Python
            for path in outputs:
                path.unlink(missing_ok=True)
            _say(f"compiling failed ({type(error).__name__}: {error}); installing pure Python")
            return
        package_dir.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(_record(_configured_modules()), indent=1) + "\n", encoding="utf-8")
        _say(f"compiled {len(self.extensions) - 1} modules with mypyc")


def _extensions() -> list[Any]:
    if _pure_requested():
        _say("FINBOT_BT_PURE is set: installing pure Python")
        _remove_in_place_build()
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as error:
        _say(f"mypyc is not available ({error}); installing pure Python")
        _remove_in_place_build()
        return []
    modules = _configured_modules()
    try:
        extensions: list[Any] = mypycify(
            [str(_source(module).relative_to(ROOT)) for module in modules],
            opt_level="3",
            group_name=GROUP,
            target_dir=str(ROOT / "build" / "mypyc"),
        )
    except (Exception, SystemExit) as error:  # mypyc reports type errors by exiting
        _say(f"mypyc could not translate the modules ({error!r}); installing pure Python")
        _remove_in_place_build()
        return []
    return extensions


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
