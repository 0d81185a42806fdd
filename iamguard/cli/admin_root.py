"""``iamguard root ...``: the root user's console password, kept in the store.

The root user signs in to the console (``iamguard serve`` mounts it at ``/console``) with this
password, checked against its argon2id hash in the store and locked out after repeated failures
by the store's own counters, so every process serving the store agrees. It is an operator's
setting, not an IAM action (AWS has no API that sets the root password either), so these verbs
open the store directly and take no caller options.

The password is never a command-line argument (it would land in shell history and the process
list): it is typed at the terminal without echo, twice, or read from the first line of standard
input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._store_args import group_parser, open_from_args, say, verb
from iamguard.cli.admin_passwords import read_passwords

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``iamguard root`` and its verbs."""
    verbs = group_parser(subparsers, "root", "the root user's console password", __doc__ or "")
    p = verb(verbs, "set-password", "set the root user's console password", _set_password, caller=False)
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    verb(verbs, "delete-password", "remove it (root sign-in is then refused)", _delete_password, caller=False)


def _set_password(args: argparse.Namespace) -> int:
    (password,) = read_passwords(args, ("New root password: ",), confirm_last=True)
    store = open_from_args(args, write=True)
    store.set_root_password(password)
    say(args, "the root user has a new console password")
    return EXIT_OK


def _delete_password(args: argparse.Namespace) -> int:
    store = open_from_args(args, write=True)
    store.delete_root_password()
    say(args, "the root user no longer has a console password")
    return EXIT_OK
