"""MkDocs hooks for the documentation site (``hooks:`` in mkdocs.yml).

The docstrings use Sphinx cross-reference roles (``:class:`~pkg.Name```),
which mkdocstrings renders literally as ``:class:`` before the code span. This
hook drops the role and, for ``~``, keeps the last dotted part, as Sphinx shows it.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|data|attr|exc|obj|const):<code>(~?)([^<]*)</code>")


def _plain(match: re.Match[str]) -> str:
    name = match.group(2)
    return f"<code>{name.rsplit('.', 1)[-1] if match.group(1) else name}</code>"


def strip_roles(html: str) -> str:
    """``html`` without Sphinx role prefixes before code spans."""
    return ROLE.sub(_plain, html)


def on_page_content(html: str, **_: Any) -> str:
    """MkDocs hook: clean each rendered page."""
    return strip_roles(html)
