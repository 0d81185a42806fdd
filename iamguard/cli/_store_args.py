"""What every store-administration subcommand shares: the store option, output, small parsers.

* ``--store URL`` picks the identity store (``memory://``, ``sqlite:///path.db``,
  ``postgresql://...``); without it ``$IAMGUARD_STORE``; without that ``sqlite:///iamguard.db``,
  a SQLite file in the **working directory**. A project-local default was chosen over a per-user
  one (``~/.local/share``) because an iamguard store belongs to the application it protects, as
  an app's SQLite database does. No command but ``iamguard init`` (and ``apply --create``)
  creates a store, so running ``iamguard user create`` in the wrong directory says so instead
  of making an empty store there.
* ``--json`` prints machine-readable output: top-level keys named as the IAM API names its
  response members (``Users``, ``AccessKeyMetadata``, ``PasswordPolicy``...), each record with
  the field names of :mod:`iamguard.store.records`; the default is a human table.
* Access keys and MFA seeds are sealed with the deployment master key: production sets
  ``IAMGUARD_MASTER_KEY`` (or ``IAMGUARD_MASTER_KEY_FILE``); ``IAMGUARD_DEV_MASTER_KEY=1`` is for
  development only (see :mod:`iamguard.store.secrets`).
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from iamguard.errors import InvalidParameterError, NoSuchEntityError
from iamguard.store import open_store
from iamguard.store.service import IdentityService

__all__ = [
    "DEFAULT_STORE_URL",
    "KEY_HELP",
    "STORE_ENV",
    "add_output_args",
    "add_store_args",
    "command_parser",
    "emit",
    "fields_table",
    "group_parser",
    "open_from_args",
    "parse_tags",
    "policy_arn",
    "read_document",
    "record_json",
    "render_table",
    "say",
    "show",
    "show_secret_once",
    "verb",
]

STORE_ENV = "IAMGUARD_STORE"
DEFAULT_STORE_URL = "sqlite:///iamguard.db"
KEY_HELP = (
    "Secrets are sealed with the master key: production sets IAMGUARD_MASTER_KEY (or "
    "IAMGUARD_MASTER_KEY_FILE) to a key from SecretBox.generate_key(); IAMGUARD_DEV_MASTER_KEY=1 "
    "allows an insecure development key kept beside the data."
)
_STORE_HELP = f"identity store URL (default: ${STORE_ENV}, else {DEFAULT_STORE_URL} in the working directory)"


def add_store_args(parser: argparse.ArgumentParser) -> None:
    """``--store`` and ``--json`` on a leaf parser."""
    parser.add_argument("--store", metavar="URL", default=None, help=_STORE_HELP)
    add_output_args(parser)


def add_output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def store_url(args: argparse.Namespace) -> str:
    return str(args.store or os.environ.get(STORE_ENV) or DEFAULT_STORE_URL)


def open_from_args(args: argparse.Namespace, *, write: bool = False, create: bool = False) -> IdentityService:
    """The store ``args`` names, its master key checked. A missing store is refused, by reads
    and writes alike (a typo in a path would otherwise look like an empty account, or scatter
    users over stray files); only ``create=True`` (``iamguard init``, ``apply --create``) makes
    one. ``write`` is kept for callers' clarity: opening is the same either way."""
    del write
    url = store_url(args)
    if not create and url.lower().startswith("sqlite:///"):
        path = Path(unquote(url[len("sqlite:///") :]))
        if not path.exists():
            raise NoSuchEntityError(
                f"no store at {path} (pass --store URL or set {STORE_ENV}; "
                f"`iamguard init --store {url}` creates one)"
            )
    return open_store(url, create=create)


# ---------------------------------------------------------------- input helpers


def parse_tags(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` options → a tag mapping (the value may be empty; the key may not)."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidParameterError(f"tags are KEY=VALUE, got {pair!r}")
        tags[key] = value
    return tags


def read_document(source: str) -> str:
    """A policy document from ``FILE``, ``file://FILE`` (as the AWS CLI writes it), ``-``
    (standard input) or literal JSON text starting with ``{``."""
    if source == "-":
        return sys.stdin.read()
    if source.lstrip().startswith("{"):
        return source
    path = source.removeprefix("file://")
    return Path(path).read_text(encoding="utf-8")


def policy_arn(service: IdentityService, name_or_arn: str) -> str:
    """A managed policy's ARN from its ARN or, for convenience, a customer policy's bare name
    (names are unique in an account without regard to case)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    wanted = name_or_arn.lower()
    for policy in service.list_policies(scope="local"):
        if policy.name.lower() == wanted:
            return policy.arn
    raise NoSuchEntityError(f"no customer managed policy named {name_or_arn!r} (or pass its ARN)")


# ---------------------------------------------------------------- output


def record_json(value: Any) -> Any:
    """A record (frozen dataclass) as JSON data: datetimes ISO 8601, enums by value, tag pairs
    as ``{"Key", "Value"}`` lists as IAM returns them."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in fields(value):
            item = getattr(value, f.name)
            out[f.name] = _tags_json(item) if f.name == "tags" else record_json(item)
        return out
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): record_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [record_json(v) for v in value]
    return value


def _tags_json(tags: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces; ``None`` shows as ``-``."""
    text = [[_cell(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in text]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


def emit(
    args: argparse.Namespace, data: Any, headers: Sequence[str] = (), rows: Sequence[Sequence[object]] = ()
) -> None:
    """Print ``data`` as JSON under ``--json``, else the table (or nothing without headers)."""
    if args.json:
        sys.stdout.write(json.dumps(record_json(data), indent=2, sort_keys=False) + "\n")
    elif headers:
        sys.stdout.write(render_table(headers, rows))


def fields_table(pairs: Sequence[tuple[str, object]]) -> str:
    """A two-column ``FIELD  VALUE`` view of one record."""
    width = max(len(k) for k, _ in pairs)
    return "".join(f"{k.ljust(width)}  {_cell(v)}\n" for k, v in pairs)


def show(args: argparse.Namespace, data: Any, pairs: Sequence[tuple[str, object]]) -> None:
    """One record: JSON under ``--json``, else a field/value view."""
    if args.json:
        sys.stdout.write(json.dumps(record_json(data), indent=2) + "\n")
    else:
        sys.stdout.write(fields_table(pairs))


def show_secret_once(
    args: argparse.Namespace,
    key: str,
    record: Any,
    secrets: Mapping[str, str],
    pairs: Sequence[tuple[str, object]],
    warning: str,
) -> None:
    """A record created with a secret the store never shows again (an access key, an MFA seed):
    JSON ``{key: record + secrets}`` under ``--json``, else a field/value view; then ``warning``
    on stderr."""
    if args.json:
        body = {**record_json(record), **secrets}
        sys.stdout.write(json.dumps({key: body}, indent=2) + "\n")
    else:
        sys.stdout.write(fields_table(pairs))
    print(warning, file=sys.stderr)


def say(args: argparse.Namespace, message: str, data: Any = None) -> None:
    """A confirmation line for a write (JSON: ``data`` or ``{"ok": true}``)."""
    if args.json:
        sys.stdout.write(json.dumps(record_json(data if data is not None else {"ok": True}), indent=2) + "\n")
    else:
        sys.stdout.write(message + "\n")


def command_parser(
    subparsers: Any, name: str, help_text: str, description: str = "", *, epilog: str | None = None
) -> argparse.ArgumentParser:
    """A top-level command whose description (often its module's docstring) keeps its line breaks."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help_text,
        description=description or help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def group_parser(
    subparsers: Any, name: str, help_text: str, description: str = "", *, epilog: str | None = None
) -> Any:
    """A command with its own verbs (``iamguard user create``): returns the verb subparsers."""
    parser = command_parser(subparsers, name, help_text, description, epilog=epilog)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    return verbs


def verb(
    verbs: Any, name: str, help_text: str, func: Any, *, epilog: str | None = None
) -> argparse.ArgumentParser:
    """A leaf command with ``--store``/``--json`` and ``func`` set."""
    parser: argparse.ArgumentParser = verbs.add_parser(
        name, help=help_text, description=help_text, epilog=epilog
    )
    add_store_args(parser)
    parser.set_defaults(func=func)
    return parser
