"""The site covers what exists: every page is in the navigation and every ``iamguard`` command
is on the command-line page."""

from __future__ import annotations

import argparse
import importlib
import re
from typing import Any

from iamguard.cli import build_parser
from tests.docs.snippets import ROOT

DOCS = ROOT / "docs"
CLI_PAGE = DOCS / "getting-started" / "cli.md"


def _nav_pages(entry: object) -> set[str]:
    """The Markdown files a ``nav`` entry (a list, a mapping or a path) names."""
    if isinstance(entry, str):
        return {entry} if entry.endswith(".md") else set()
    if isinstance(entry, list):
        return {page for item in entry for page in _nav_pages(item)}
    if isinstance(entry, dict):
        return {page for value in entry.values() for page in _nav_pages(value)}
    return set()


def _commands() -> set[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(subparsers.choices)


def test_every_page_is_in_the_navigation() -> None:
    # mkdocs.yml uses no custom YAML tags, so the safe loader reads it (pyyaml ships no types)
    yaml: Any = importlib.import_module("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    in_nav = _nav_pages(config["nav"])
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages - in_nav == set(), "pages missing from mkdocs.yml's nav"
    assert in_nav - pages == set(), "nav entries without a page"


def test_the_command_line_page_names_every_command() -> None:
    table = CLI_PAGE.read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z-]+)(?: [a-z-]+)?`", table))
    assert _commands() - named == set(), "commands missing from the table of getting-started/cli.md"
    assert "serve" in named and "init" in named  # the table is the one parsed, not an empty split
