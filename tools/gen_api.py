"""Render docs/api.md from the docstrings of every public name.

Run: python tools/gen_api.py [--check]
``--check`` exits 1 if docs/api.md is out of date (the test suite runs it).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

MODULES = [
    "finbot_bt",
    "finbot_bt.errors",
    "finbot_bt.contracts",
    "finbot_bt.contracts.risk",
    "finbot_bt.contracts.checkpoint",
    "finbot_bt.execution",
    "finbot_bt.execution.checkpoint",
    "finbot_bt.execution.journal",
    "finbot_bt.execution.journal_writer",
    "finbot_bt.execution.recovery",
    "finbot_bt.execution.seal",
    "finbot_bt.execution.session_lock",
    "finbot_bt.broker.frames",
    "finbot_bt.broker",
]
OUT = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def public_names(module: object) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and getattr(v, "__module__", None) == module.__name__ and (inspect.isclass(v) or inspect.isfunction(v))]
    return sorted(n for n in names if not n.startswith("__"))


def signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def render() -> str:
    lines = ["# API reference", "",
             "Generated from the docstrings by `python tools/gen_api.py`; do not edit by hand.", ""]
    for name in MODULES:
        module = importlib.import_module(name)
        lines += [f"## `{name}`", "", inspect.cleandoc(module.__doc__ or "").split("\n\n")[0], ""]
        for attr in public_names(module):
            obj = getattr(module, attr)
            if inspect.ismodule(obj):
                continue
            kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "value"
            doc = inspect.getdoc(obj) if kind != "value" else None
            head = f"### `{attr}`" + (f" ({kind})" if kind != "value" else "")
            lines += [head, ""]
            if kind != "value":
                lines += ["```python", f"{attr}{signature(obj)}", "```", ""]
            if doc:
                lines += [doc, ""]
            if inspect.isclass(obj):
                for method_name, method in vars(obj).items():
                    if method_name.startswith("_") or not callable(method) or not method.__doc__:
                        continue
                    lines += [f"- `{method_name}{signature(method)}`: "
                              f"{inspect.getdoc(method).splitlines()[0]}"]  # type: ignore[union-attr]
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python tools/gen_api.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
