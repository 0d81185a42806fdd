"""Griffe extension for the API reference: the reST in docstrings that Markdown would garble.

* Roles: iamguard's docstrings name other objects the Sphinx way (``:func:`~iamguard.evaluate```,
  ``:class:`Guard```); Markdown would show the role's colons literally, so a role becomes code.
  ``~`` keeps only the last dotted part, as Sphinx does, and ``title <target>`` keeps the title.
* Simple tables (columns under ``=====  =====`` rules) would run together into one paragraph:
  each is shown as it is written, in a text block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|exc|data|obj|const|ref|term):`([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    text = match.group(1)
    titled = re.fullmatch(r"(.+?)\s*<[^>]+>", text)
    if titled:
        text = titled.group(1)
    elif text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    return f"`{text}`"


def _fence_tables(text: str) -> str:
    """Wrap each reST simple table in a text fence: from its top rule to its bottom rule.

    A table with a header has a second rule just under the header row, and ends at its third.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        rules = [j for j in range(i, len(lines)) if _RULE.match(lines[j])] if _RULE.match(lines[i]) else []
        if len(rules) >= 2:
            end = rules[2] if len(rules) >= 3 and rules[1] - i <= 3 else rules[1]
            out += ["```text", *lines[i : end + 1], "```"]
            i = end + 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


class ReSTRoles(griffe.Extension):
    """Rewrites each docstring's roles and tables once, when the object is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _fence_tables(_ROLE.sub(_plain, obj.docstring.value))
