"""Who a policy, access key or MFA device belongs to, as command-line options.

Managed and inline policies belong to a user, group or role (``--user``/``--group``/``--role``);
access keys and MFA devices to an IAM user or the account's root user (``--user``/``--root``).
"""

from __future__ import annotations

import argparse

from iamguard.errors import InvalidInputError
from iamguard.store.records import PrincipalKind

__all__ = ["add_owner_args", "add_user_or_root_args", "owner_of", "user_or_root"]


def add_owner_args(parser: argparse.ArgumentParser, *, verb: str) -> None:
    """``--user NAME | --group NAME | --role NAME``, exactly one."""
    owner = parser.add_mutually_exclusive_group(required=True)
    owner.add_argument("--user", metavar="NAME", help=f"{verb} a user")
    owner.add_argument("--group", metavar="NAME", help=f"{verb} a group")
    owner.add_argument("--role", metavar="NAME", help=f"{verb} a role")


def owner_of(args: argparse.Namespace) -> tuple[PrincipalKind, str]:
    for kind in PrincipalKind:
        name = getattr(args, kind.value, None)
        if name is not None:
            return kind, str(name)
    raise InvalidInputError("one of --user, --group or --role is required")


def add_user_or_root_args(parser: argparse.ArgumentParser, *, root_help: str = "the root user") -> None:
    """``--user NAME | --root``, exactly one."""
    owner = parser.add_mutually_exclusive_group(required=True)
    owner.add_argument("--user", metavar="NAME", help="the IAM user")
    owner.add_argument("--root", action="store_true", help=root_help)


def user_or_root(args: argparse.Namespace) -> str | None:
    """The ``--user`` name, or ``None`` for ``--root`` (how the store names the root user)."""
    return None if args.root else args.user
