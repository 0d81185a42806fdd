"""Griffe extension for the API reference: reST roles in docstrings become Markdown code.

iamguard's docstrings name other objects the Sphinx way (``:func:`~iamguard.evaluate```,
``:class:`Guard```); Markdown would show the role's colons literally. ``~`` keeps only the last
dotted part, as Sphinx does, and ``title <target>`` keeps the title.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|exc|data|obj|const|ref|term):`([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    text = match.group(1)
    titled = re.fullmatch(r"(.+?)\s*<[^>]+>", text)
    if titled:
        text = titled.group(1)
    elif text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    return f"`{text}`"


class ReSTRoles(griffe.Extension):
    """Rewrites each docstring's roles once, when the object is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_plain, obj.docstring.value)
