"""The ``iamguard`` command line: one subcommand per module in this package.

Each module listed in ``_SUBCOMMANDS`` defines ``register(subparsers)`` which adds its parser and
sets ``func`` to a callable ``(args) -> int``. Errors from the library become one clear line on
stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from iamguard.cli._parser import CommandParser, version_text
from iamguard.cli._store_args import add_caller_args, misplaced_caller
from iamguard.errors import IAMGuardError

# Exit codes shared by every subcommand.
EXIT_OK = 0
EXIT_FINDINGS = 1  # the command ran and reports problems (denied, invalid policy, ...)
EXIT_USAGE = 2  # the command could not run (bad arguments, unreadable input)

_SUBCOMMANDS: tuple[str, ...] = (
    "init",
    "keys",
    "validate",
    "simulate",
    "simulate_principal",
    "admin_account",
    "admin_users",
    "admin_groups",
    "admin_roles",
    "admin_policies",
    "admin_keys",
    "admin_mfa",
    "admin_passwords",
    "admin_root",
    "admin_sessions",
    "apply",
    "export",
    "serve",
    "serve_sts",
    "serve_credentials",
    "analyze",
)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="iamguard",
        description="AWS IAM semantics for Python apps.",
        epilog="Commands that use the identity store take --store URL, else $IAMGUARD_STORE, else "
        "sqlite:///iam.db in the working directory. 'iamguard COMMAND --help' describes a command.",
    )
    parser.add_argument("--version", action="version", version=version_text())
    add_caller_args(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _SUBCOMMANDS:
        importlib.import_module(f"iamguard.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The command as typed ("user create", "policy version list"), as argparse names it in errors.
    words = (args.command, getattr(args, "verb", None), getattr(args, "subverb", None))
    command = " ".join(str(w) for w in words if w)
    misplaced = misplaced_caller(args)
    if misplaced is not None:
        print(
            f"iamguard {command}: {misplaced} applies to the IAM administration commands only",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except (OSError, ValueError) as exc:
        # Before IAMGuardError: an InvalidParameterError (a bad option value) is a usage error.
        print(f"iamguard {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except IAMGuardError as exc:
        print(f"iamguard {command}: {exc.code}: {exc}", file=sys.stderr)
        return EXIT_FINDINGS if exc.http_status < 500 else EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
