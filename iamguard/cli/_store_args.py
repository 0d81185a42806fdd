"""What every store-administration subcommand shares: the store option, output, small parsers.

* ``--store URL`` picks the identity store (``memory://``, ``sqlite:///path.db``,
  ``postgresql://...``); without it ``$IAMGUARD_STORE``; without that ``sqlite:///iam.db``,
  a SQLite file in the **working directory** (the name the README and the examples use). A
  project-local default was chosen over a per-user one (``~/.local/share``) because an iamguard
  store belongs to the application it protects, as an app's SQLite database does. No command but ``iamguard init`` (and ``apply --create``)
  creates a store, so running ``iamguard user create`` in the wrong directory says so instead
  of making an empty store there.
* ``--json`` prints what ``aws iam ... --output json`` prints for the same operation: the IAM
  API's response members and field names (``{"Users": [{"UserName": ...}]}``), built by
  :mod:`iamguard.cli._aws_json`; an operation AWS answers with nothing prints nothing. The
  default is a human table.
* ``--as-user NAME``, ``--access-key-id ID`` and ``--env-credentials`` (on every IAM verb, or
  before the command) name who the verb acts as; without them, the account's root user. Each
  verb runs IAM actions through :mod:`iamguard.cli._iam_call`; a command that runs none refuses
  them (:func:`misplaced_caller`).
* ``memory://`` is accepted but warned about: it lives in this process only, so whatever a
  command writes there is gone when the command exits.
* Access keys and MFA seeds are sealed with the deployment master key: production sets
  ``IAMGUARD_MASTER_KEY`` (or ``IAMGUARD_MASTER_KEY_FILE``); ``IAMGUARD_DEV_MASTER_KEY=1`` is for
  development only (see :mod:`iamguard.store.secrets`).
"""

from __future__ import annotations

import argparse
import difflib
import enum
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from iamguard.cli._aws_json import print_json
from iamguard.errors import InvalidParameterError, NoSuchEntityError
from iamguard.store import open_store
from iamguard.store.built_in import BUILT_IN_ACCOUNT, built_in_policies
from iamguard.store.service import IdentityService

__all__ = [
    "CALLER_OPTIONS",
    "DEFAULT_STORE_URL",
    "KEY_HELP",
    "STORE_ENV",
    "STORE_HELP",
    "add_caller_args",
    "add_output_args",
    "add_store_args",
    "caller_options",
    "command_parser",
    "emit",
    "fields_table",
    "group_parser",
    "misplaced_caller",
    "open_from_args",
    "parse_tags",
    "policy_arn",
    "read_document",
    "render_table",
    "say",
    "show",
    "show_secret_once",
    "store_url",
    "verb",
    "warn_if_memory",
]

STORE_ENV = "IAMGUARD_STORE"
DEFAULT_STORE_URL = "sqlite:///iam.db"
KEY_HELP = (
    "Secrets are sealed with the master key: production sets IAMGUARD_MASTER_KEY (or "
    "IAMGUARD_MASTER_KEY_FILE) to a key from SecretBox.generate_key(); IAMGUARD_DEV_MASTER_KEY=1 "
    "allows an insecure development key kept beside the data."
)
STORE_HELP = f"identity store URL (default: ${STORE_ENV}, else {DEFAULT_STORE_URL} in the working directory)"


def add_store_args(parser: argparse.ArgumentParser) -> None:
    """``--store`` and ``--json`` on a leaf parser."""
    parser.add_argument("--store", metavar="URL", default=None, help=STORE_HELP)
    add_output_args(parser)


#: The caller options' ``args`` attribute → the option as typed.
CALLER_OPTIONS = {
    "as_user": "--as-user",
    "caller_key_id": "--access-key-id",
    "env_credentials": "--env-credentials",
}


def add_caller_args(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """``--as-user``, ``--access-key-id`` and ``--env-credentials``. On a verb the defaults are
    suppressed, so an option given before the command (``iamguard --as-user bob user list``)
    is not overwritten by the verb's default."""
    default: Any = None if top_level else argparse.SUPPRESS
    group = parser.add_argument_group("caller (default: the account's root user)")
    group.add_argument(
        "--as-user", metavar="NAME", default=default, help="act as IAM user NAME (its policies decide)"
    )
    group.add_argument(
        "--access-key-id",
        dest="caller_key_id",
        metavar="ID",
        default=default,
        help="act as the owner of access key ID",
    )
    group.add_argument(
        "--env-credentials",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="act as the owner of $AWS_ACCESS_KEY_ID, proved by $AWS_SECRET_ACCESS_KEY",
    )


def misplaced_caller(args: argparse.Namespace) -> str | None:
    """The caller option given to a command that does not run IAM actions (``iamguard --as-user
    bob apply ...`` would otherwise act as the operator while seeming to act as bob), else ``None``."""
    if getattr(args, "takes_caller", False):
        return None
    given = caller_options(args)
    return given[0] if given else None


def caller_options(args: argparse.Namespace) -> list[str]:
    """The caller options given (``--as-user``...), as typed."""
    return [option for dest, option in CALLER_OPTIONS.items() if getattr(args, dest, None)]


def add_output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON as `aws iam ... --output json` prints the same operation (nothing where AWS "
        "answers nothing) instead of a table",
    )


def store_url(args: argparse.Namespace) -> str:
    """``--store``, else ``$IAMGUARD_STORE``, else :data:`DEFAULT_STORE_URL`."""
    return str(getattr(args, "store", None) or os.environ.get(STORE_ENV) or DEFAULT_STORE_URL)


def warn_if_memory(url: str) -> None:
    """Say on stderr that a ``memory://`` store forgets everything when the process exits."""
    if url.lower().startswith("memory:"):
        print(
            "warning: memory:// is a store in this process only: whatever is written to it is "
            "discarded when the process exits (use sqlite:///FILE or postgresql://... to keep it)",
            file=sys.stderr,
        )


def open_from_args(args: argparse.Namespace, *, write: bool = False, create: bool = False) -> IdentityService:
    """The store ``args`` names, its master key checked. A missing store is refused, by reads
    and writes alike (a typo in a path would otherwise look like an empty account, or scatter
    users over stray files); only ``create=True`` (``iamguard init``, ``apply --create``) makes
    one. ``write`` is kept for callers' clarity: opening is the same either way."""
    del write
    url = store_url(args)
    warn_if_memory(url)
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
    """A managed policy's ARN from its ARN or, for convenience, a bare name: a customer
    policy's (names are unique in an account without regard to case), else a built-in's
    (``ReadOnlyAccess`` → ``arn:aws:iam::iamguard:policy/ReadOnlyAccess``).

    An AWS managed policy ARN (``arn:aws:iam::aws:policy/ReadOnlyAccess``) is refused with the
    built-in to use instead: iamguard does not carry AWS's documents, and quietly reading
    AWS's ARN as iamguard's policy would make a policy copied from a real account mean
    something else (see :mod:`iamguard.store.built_in`)."""
    if name_or_arn.startswith("arn:"):
        _refuse_aws_managed(service, name_or_arn)
        return name_or_arn
    wanted = name_or_arn.lower()
    customer = service.list_policies(scope="local")
    for policy in customer:
        if policy.name.lower() == wanted:
            return policy.arn
    partition = service.account().partition
    for name, built_in in built_in_policies().items():
        if name.lower() == wanted:
            return built_in.arn(partition)
    known = [p.name for p in customer] + list(built_in_policies())
    close = difflib.get_close_matches(name_or_arn, known, n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else " (or pass its ARN)"
    raise NoSuchEntityError(f"no customer managed or built-in policy named {name_or_arn!r}{hint}")


def _refuse_aws_managed(service: IdentityService, arn: str) -> None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or parts[4] != "aws" or not parts[5].startswith("policy/"):
        return
    name = parts[5].rsplit("/", 1)[-1]
    partition = service.account().partition
    built_in = {n.lower(): p for n, p in built_in_policies().items()}.get(name.lower())
    if built_in is not None:
        hint = f"use iamguard's built-in {built_in.arn(partition)} (or just {built_in.name})"
    else:
        names = ", ".join(built_in_policies())
        hint = (
            f"iamguard's built-in policies are {names} (arn:{partition}:iam::{BUILT_IN_ACCOUNT}:policy/NAME); "
            "for anything else create a customer managed policy"
        )
    raise NoSuchEntityError(f"{arn} is an AWS managed policy, which iamguard does not provide: {hint}")


# ---------------------------------------------------------------- output


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
    args: argparse.Namespace,
    data: Mapping[str, Any],
    headers: Sequence[str] = (),
    rows: Sequence[Sequence[object]] = (),
) -> None:
    """Print ``data`` (already in AWS's shape) as JSON under ``--json``, else the table (or
    nothing without headers)."""
    if args.json:
        print_json(data)
    elif headers:
        sys.stdout.write(render_table(headers, rows))


def fields_table(pairs: Sequence[tuple[str, object]]) -> str:
    """A two-column ``FIELD  VALUE`` view of one record."""
    width = max(len(k) for k, _ in pairs)
    return "".join(f"{k.ljust(width)}  {_cell(v)}\n" for k, v in pairs)


def show(args: argparse.Namespace, data: Mapping[str, Any], pairs: Sequence[tuple[str, object]]) -> None:
    """One record: ``data`` (AWS's shape) as JSON under ``--json``, else a field/value view."""
    if args.json:
        print_json(data)
    else:
        sys.stdout.write(fields_table(pairs))


def show_secret_once(
    args: argparse.Namespace, data: Mapping[str, Any], pairs: Sequence[tuple[str, object]], warning: str
) -> None:
    """A record created with a secret the store never shows again (an access key, an MFA seed):
    ``data`` (AWS's shape, secret included) under ``--json``, else a field/value view; then
    ``warning`` on stderr."""
    show(args, data, pairs)
    print(warning, file=sys.stderr)


def say(args: argparse.Namespace, message: str, data: Mapping[str, Any] | None = None) -> None:
    """A confirmation line for a write; under ``--json`` the operation's AWS-shaped answer
    ``data``, or nothing when AWS answers nothing (as ``aws iam update-user`` prints nothing)."""
    if not args.json:
        sys.stdout.write(message + "\n")
    elif data is not None:
        print_json(data)


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
    verbs: Any, name: str, help_text: str, func: Any, *, epilog: str | None = None, caller: bool = True
) -> argparse.ArgumentParser:
    """A leaf command with ``--store``/``--json``, the caller options (``caller``: an IAM
    action's verb, see :mod:`iamguard.cli._iam_call`) and ``func`` set."""
    parser: argparse.ArgumentParser = verbs.add_parser(
        name, help=help_text, description=help_text, epilog=epilog
    )
    add_store_args(parser)
    if caller:
        add_caller_args(parser)
    parser.set_defaults(func=func, takes_caller=caller)
    return parser
