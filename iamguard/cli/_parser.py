"""The argument parser class every ``iamguard`` command and verb is built with.

Two things plain :class:`argparse.ArgumentParser` gets wrong for a command with subcommands:

* An unknown option after a subcommand (``iamguard user create alice --bogus``) is reported
  by the *top-level* parser, with the top-level usage, because argparse's subparsers hand
  unrecognised arguments back up. :class:`SubcommandParser` refuses them itself, so the error
  shows the usage of the command that was actually typed.
* Help is rendered from docstrings written in reStructuredText (double backquotes, roles
  such as ``:func:`x```, literal-block markers). :func:`plain_text` turns that markup into
  plain text when help is printed; the docstrings stay valid reST for the documentation site.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["CommandParser", "SubcommandParser", "plain_text", "version_text"]

_DISTRIBUTION = "iamguard"
#: ``:func:`name```, ``:class:`~pkg.Name```, ``:mod:`text <target>```
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`([^`]*)`")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_BLOCK_MARKER_LINE = re.compile(r"^[ \t]*::[ \t]*\n", re.MULTILINE)
_BLOCK_MARKER_END = re.compile(r"(\S)::[ \t]*$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")


def version_text() -> str:
    """``iamguard X.Y.Z``: the installed distribution's version, else the package's own."""
    try:
        number = importlib.metadata.version(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # a checkout on sys.path, not installed
        import iamguard

        number = iamguard.__version__
    return f"{_DISTRIBUTION} {number}"


def _role_text(match: re.Match[str]) -> str:
    target = match.group(1)
    if "<" in target and target.endswith(">"):
        return target.split("<", 1)[0].strip()  # `text <target>`: the text
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]  # `~pkg.mod.Name`: the last component
    return target


def plain_text(text: str) -> str:
    """``text`` with reStructuredText inline markup and literal-block markers removed."""
    text = _ROLE.sub(_role_text, text)
    text = _LITERAL.sub(lambda m: m.group(1), text)
    text = _BLOCK_MARKER_LINE.sub("", text)
    text = _BLOCK_MARKER_END.sub(r"\1:", text)
    return _BLANK_RUNS.sub("\n\n", text)


class CommandParser(argparse.ArgumentParser):
    """The top-level ``iamguard`` parser: plain-text help; subcommands are :class:`SubcommandParser`."""

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("parser_class", SubcommandParser)
        return super().add_subparsers(**kwargs)

    def format_help(self) -> str:
        return plain_text(super().format_help())

    def format_usage(self) -> str:
        return plain_text(super().format_usage())


class SubcommandParser(CommandParser):
    """A command or verb parser that reports unknown arguments with its own usage."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error("unrecognized arguments: " + " ".join(extras))
        return parsed, extras
