"""Shared fixture for the admin CLI tests: runs ``iamguard.cli.main`` with the admin modules
registered (the lead adds them to ``_SUBCOMMANDS``; until then the fixture patches it) against a
SQLite store in the test's temporary directory, so state persists across invocations.

Every invocation parses with one parser per worker process: ``build_parser`` adds ~700 options
to ~100 subparsers (tens of milliseconds, most of these tests' time when rebuilt for each of
the 10-20 commands a test runs). Sharing it is safe because parsing never changes a parser and
the parser holds nothing per test: argparse copies a repeatable option's ``default=[]`` before
appending, no command changes its parsed arguments in place, and the store URL, credentials and
keys are read from the environment only when a command runs.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import iamguard.cli
from iamguard.store import open_store
from iamguard.store.service import IdentityService

ADMIN_MODULES = (
    "admin_users",
    "admin_groups",
    "admin_roles",
    "admin_policies",
    "admin_keys",
    "admin_mfa",
    "admin_passwords",
    "admin_account",
    "simulate_principal",
    "apply",
    "export",
)

ALLOW_S3_READ: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
TRUST_ACCOUNT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Result]

_build_parser = iamguard.cli.build_parser


@functools.cache
def _shared_parser(subcommands: tuple[str, ...]) -> argparse.ArgumentParser:
    """The parser ``build_parser`` makes for ``subcommands``, built once per process."""
    return _build_parser()


def _parser_for_current_subcommands() -> argparse.ArgumentParser:
    return _shared_parser(iamguard.cli._SUBCOMMANDS)


@functools.cache
def _empty_store_file(base: Path) -> Path:
    """A new, empty, closed SQLite store under ``base`` (creating one is explicit: ``iamguard
    init`` / ``create=True``), migrated once per worker: copying it costs a fraction of a
    millisecond, running the migrations tens of milliseconds for each of several hundred tests.
    (A function rather than a fixture: the test modules re-export only ``cli`` and ``store_url``.)"""
    path = base / "empty-store.db"
    open_store(f"sqlite:///{path}", create=True).backend.close()
    return path


@pytest.fixture
def store_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test's own new, empty store: a copy of the migrated empty one."""
    shutil.copyfile(_empty_store_file(tmp_path_factory.getbasetemp()), tmp_path / "s.db")
    return f"sqlite:///{tmp_path}/s.db"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], store_url: str) -> Iterator[Cli]:
    wanted = tuple(dict.fromkeys(iamguard.cli._SUBCOMMANDS + ADMIN_MODULES))
    monkeypatch.setattr(iamguard.cli, "_SUBCOMMANDS", wanted)
    monkeypatch.setattr(iamguard.cli, "build_parser", _parser_for_current_subcommands)
    monkeypatch.setenv("IAMGUARD_STORE", store_url)
    monkeypatch.delenv("IAMGUARD_MASTER_KEY", raising=False)
    monkeypatch.delenv("IAMGUARD_MASTER_KEY_FILE", raising=False)
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")

    def run(*argv: str, stdin: str | None = None) -> Result:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = iamguard.cli.main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield run


def service(url: str) -> IdentityService:
    """The test's store opened directly, to check what the CLI wrote."""
    return open_store(url)


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)
