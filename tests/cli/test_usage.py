"""The command line as a whole: ``--version``, ``python -m iamguard``, plain-text help for every
command, and usage errors reported by the command that was typed."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import iamguard
import iamguard.cli
from iamguard.cli._parser import plain_text

ROOT = Path(__file__).resolve().parents[2]
WRONG_FLAGS = json.loads((ROOT / "tests" / "data" / "cli" / "wrong_flags.json").read_text())["rows"]
#: reST that must not reach a terminal: ``literal``, :role:`target`, a bare ``::`` line
_REST = re.compile(r"``|:[a-z]+:`|^\s*::\s*$", re.MULTILINE)


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser in the tree (the top level, each command, each verb), with its command line."""
    yield " ".join(("iamguard", *path)), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


ALL_PARSERS = dict(_parsers(iamguard.cli.build_parser()))


def test_version_is_the_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        iamguard.cli.main(["--version"])
    assert done.value.code == 0
    printed = capsys.readouterr().out.strip()
    assert (
        printed == f"iamguard {importlib.metadata.version('iamguard')}" == f"iamguard {iamguard.__version__}"
    )


@pytest.mark.parametrize("module", ["iamguard", "iamguard.cli"])
def test_python_dash_m_runs_the_cli(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", module, "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout == f"iamguard {iamguard.__version__}\n", done.stderr


def test_the_tree_has_every_command() -> None:
    """The walk below reaches each command and nested verb (so the help check covers them)."""
    for command in ("iamguard user create", "iamguard policy version create", "iamguard policy inline put",
                    "iamguard serve-sts", "iamguard keys generate", "iamguard init", "iamguard apply"):  # fmt: skip
        assert command in ALL_PARSERS
    assert len(ALL_PARSERS) > 80


@pytest.mark.parametrize("command", sorted(ALL_PARSERS))
def test_help_is_plain_text(command: str) -> None:
    """``--help`` of every command shows no raw reStructuredText (the docstrings it is built from
    keep theirs for the documentation site)."""
    text = ALL_PARSERS[command].format_help()
    assert text.startswith(f"usage: {command}")
    assert _REST.findall(text) == [], text


def test_help_through_main_is_the_rendered_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        iamguard.cli.main(["init", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "iamguard init: create an identity store (the only command that does, with apply --create)" in out
    assert "``" not in out and "--account-id ID" in out


@pytest.mark.parametrize(
    ("rest", "plain"),
    [
        ("``iamguard init`` creates", "iamguard init creates"),
        ("see :func:`parse_policy` and :class:`~iamguard.store.records.User`", "see parse_policy and User"),
        (":mod:`the store <iamguard.store>`", "the store"),
        ("Usage::\n\n    iamguard x\n", "Usage:\n\n    iamguard x\n"),
        ("Intro.\n\n::\n\n    iamguard x\n", "Intro.\n\n    iamguard x\n"),
        ("a ``multi\nline`` literal", "a multi\nline literal"),
        ("nothing to change: a:b `x`", "nothing to change: a:b `x`"),
    ],
)
def test_plain_text(rest: str, plain: str) -> None:
    assert plain_text(rest) == plain


@pytest.mark.parametrize("row", WRONG_FLAGS, ids=[" ".join(r["argv"]) for r in WRONG_FLAGS])
def test_a_wrong_flag_shows_the_usage_of_the_command_typed(
    row: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        iamguard.cli.main(row["argv"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(row["usage"]), err
    assert row["error"] in err
    assert "Traceback" not in err
