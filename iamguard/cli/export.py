"""``iamguard export``: write the store as a declarative account file (never secrets).

Applying the exported file to the same store plans no change. The format follows ``--format``,
else the output file's extension (``.json`` → JSON, ``.yaml``/``.yml`` → YAML), else YAML when
pyyaml is installed and JSON otherwise. ``-o FILE`` is replaced atomically (a temporary file
renamed over it), so an interrupted export never leaves a half-written file.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._store_args import STORE_HELP, command_parser, open_from_args
from iamguard.declarative import dump_account_file, export_account

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = command_parser(
        subparsers, "export", "write the store as an account file for 'iamguard apply'", __doc__ or ""
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output")
    parser.add_argument("--format", choices=("yaml", "json"), help="default: from the file extension")
    parser.add_argument("--store", metavar="URL", default=None, help=STORE_HELP)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    text = dump_account_file(export_account(service), yaml_syntax=_format(args) == "yaml")
    if args.output is None:
        sys.stdout.write(text)
    else:
        _write_atomically(Path(args.output), text)
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.output).suffix.lower() if args.output else ""
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return "yaml" if importlib.util.find_spec("yaml") is not None else "json"


def _write_atomically(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
